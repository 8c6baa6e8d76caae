-- originations: the record that a payment went into a NACHA file, one row a
-- payment, appended in the file's allocation transaction. Its key is the
-- payment: the database itself refuses a second origination of a payment,
-- whatever the application does. The row carries the entry as originated
-- (trace number, routing, sealed account number, transaction code, name,
-- individual id), so that a file rebuilt from the ledger gives the same
-- bytes whatever happens to the bank account later.
--
-- The payment row's state, ach_file_id, trace_number and dates are derived
-- from this record (its snapshot columns stay empty for payments originated
-- from now on: the record is the snapshot), settled after the file is stored, in bulk
-- (SettleFile); until then the payment reads 'scheduled' with no file, and
-- everything that must be right before settlement (the next allocation,
-- cancels, returns matching, rebuilding a file) reads this record. A file's
-- settled_at says its payments were settled.
--
-- No foreign keys: payments and files are never deleted (a released file's
-- records are removed in the release transaction), and on PostgreSQL a
-- foreign key costs a trigger and a row lock a payment.
--
-- number_enc is sealed bound to the payment (its associated data names
-- payments.number_enc and the payment id, as the payment's own snapshot
-- does), so a number copied to another payment's record does not open, and
-- migration 0040 moves the sealed snapshots without the key.
--
-- On SQLite the records are appended in rowid order and the key is a
-- unique index: a day's payments are allocated in file order, not id
-- order, and inserting whole rows at random places in the table's b-tree
-- split its pages far more than inserting the ids into an index.
{{sqlite}}CREATE TABLE originations (id INTEGER PRIMARY KEY, payment_id INTEGER NOT NULL UNIQUE, ach_file_id BIGINT NOT NULL, business_date TEXT NOT NULL, effective_on TEXT NOT NULL, trace_number TEXT NOT NULL, rdfi_routing TEXT NOT NULL, number_enc BLOB NOT NULL, transaction_code INTEGER NOT NULL, individual_name TEXT NOT NULL, individual_id TEXT NOT NULL);
{{postgres}}CREATE TABLE originations (payment_id BIGINT PRIMARY KEY, ach_file_id BIGINT NOT NULL, business_date DATE NOT NULL, effective_on DATE NOT NULL, trace_number TEXT NOT NULL, rdfi_routing TEXT NOT NULL, number_enc BYTEA NOT NULL, transaction_code INTEGER NOT NULL, individual_name TEXT NOT NULL, individual_id TEXT NOT NULL);
-- A trace number is unique in its day; returns and NOCs name the payment
-- by trace only (old traces too: matching takes the newest day).
CREATE UNIQUE INDEX originations_trace_day ON originations (trace_number, business_date);
-- A file's entries (rebuild, counts).
CREATE INDEX originations_file ON originations (ach_file_id);
ALTER TABLE ach_files ADD COLUMN settled_at {{ts}};
