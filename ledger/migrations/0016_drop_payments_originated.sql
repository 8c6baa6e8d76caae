-- One index change fewer for every originated payment. Counting the debits
-- originated in a date range (return rates) goes through the day's files
-- instead: a payment's origination date is its file's business date.
DROP INDEX payments_originated;
