-- NOC corrected account numbers were masked by their shape: one that
-- passed the routing check digit (about 1 in 10 of nine digits) was kept
-- whole in corrections.corrected_data and in the raw records of NOC
-- exceptions, and short ones showed 4 of their 5 digits. Re-mask the
-- account number field of C01 and C06 (positions 1-17 of the corrected
-- data), C03 (13-29) and C07 (10-26), chosen by change code, never by
-- shape: all but the last 4 characters, or half of a number shorter than 8.
-- Masking what is masked changes nothing. Other codes hold no account
-- number and are left as they are.

UPDATE corrections SET corrected_data = substr(corrected_data, 1, 0) || substr('*****************', 1, length(rtrim(substr(corrected_data, 1, 17))) - (CASE WHEN length(rtrim(substr(corrected_data, 1, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(corrected_data, 1, 17))) / 2 END)) || substr(rtrim(substr(corrected_data, 1, 17)), length(rtrim(substr(corrected_data, 1, 17))) - (CASE WHEN length(rtrim(substr(corrected_data, 1, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(corrected_data, 1, 17))) / 2 END) + 1) || substr(corrected_data, 1 + length(rtrim(substr(corrected_data, 1, 17))))
WHERE change_code IN ('C01', 'C06') AND length(corrected_data) >= 1;

UPDATE corrections SET corrected_data = substr(corrected_data, 1, 12) || substr('*****************', 1, length(rtrim(substr(corrected_data, 13, 17))) - (CASE WHEN length(rtrim(substr(corrected_data, 13, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(corrected_data, 13, 17))) / 2 END)) || substr(rtrim(substr(corrected_data, 13, 17)), length(rtrim(substr(corrected_data, 13, 17))) - (CASE WHEN length(rtrim(substr(corrected_data, 13, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(corrected_data, 13, 17))) / 2 END) + 1) || substr(corrected_data, 13 + length(rtrim(substr(corrected_data, 13, 17))))
WHERE change_code IN ('C03') AND length(corrected_data) >= 13;

UPDATE corrections SET corrected_data = substr(corrected_data, 1, 9) || substr('*****************', 1, length(rtrim(substr(corrected_data, 10, 17))) - (CASE WHEN length(rtrim(substr(corrected_data, 10, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(corrected_data, 10, 17))) / 2 END)) || substr(rtrim(substr(corrected_data, 10, 17)), length(rtrim(substr(corrected_data, 10, 17))) - (CASE WHEN length(rtrim(substr(corrected_data, 10, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(corrected_data, 10, 17))) / 2 END) + 1) || substr(corrected_data, 10 + length(rtrim(substr(corrected_data, 10, 17))))
WHERE change_code IN ('C07') AND length(corrected_data) >= 10;

UPDATE exceptions SET raw = substr(raw, 1, 130) || substr(substr(raw, 131, 29), 1, 0) || substr('*****************', 1, length(rtrim(substr(substr(raw, 131, 29), 1, 17))) - (CASE WHEN length(rtrim(substr(substr(raw, 131, 29), 1, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(substr(raw, 131, 29), 1, 17))) / 2 END)) || substr(rtrim(substr(substr(raw, 131, 29), 1, 17)), length(rtrim(substr(substr(raw, 131, 29), 1, 17))) - (CASE WHEN length(rtrim(substr(substr(raw, 131, 29), 1, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(substr(raw, 131, 29), 1, 17))) / 2 END) + 1) || substr(substr(raw, 131, 29), 1 + length(rtrim(substr(substr(raw, 131, 29), 1, 17)))) || substr(raw, 160)
WHERE kind LIKE 'noc%' AND length(raw) = 189 AND substr(raw, 96, 3) = '798' AND substr(raw, 99, 3) IN ('C01', 'C06');

UPDATE exceptions SET raw = substr(raw, 1, 130) || substr(substr(raw, 131, 29), 1, 12) || substr('*****************', 1, length(rtrim(substr(substr(raw, 131, 29), 13, 17))) - (CASE WHEN length(rtrim(substr(substr(raw, 131, 29), 13, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(substr(raw, 131, 29), 13, 17))) / 2 END)) || substr(rtrim(substr(substr(raw, 131, 29), 13, 17)), length(rtrim(substr(substr(raw, 131, 29), 13, 17))) - (CASE WHEN length(rtrim(substr(substr(raw, 131, 29), 13, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(substr(raw, 131, 29), 13, 17))) / 2 END) + 1) || substr(substr(raw, 131, 29), 13 + length(rtrim(substr(substr(raw, 131, 29), 13, 17)))) || substr(raw, 160)
WHERE kind LIKE 'noc%' AND length(raw) = 189 AND substr(raw, 96, 3) = '798' AND substr(raw, 99, 3) IN ('C03');

UPDATE exceptions SET raw = substr(raw, 1, 130) || substr(substr(raw, 131, 29), 1, 9) || substr('*****************', 1, length(rtrim(substr(substr(raw, 131, 29), 10, 17))) - (CASE WHEN length(rtrim(substr(substr(raw, 131, 29), 10, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(substr(raw, 131, 29), 10, 17))) / 2 END)) || substr(rtrim(substr(substr(raw, 131, 29), 10, 17)), length(rtrim(substr(substr(raw, 131, 29), 10, 17))) - (CASE WHEN length(rtrim(substr(substr(raw, 131, 29), 10, 17))) >= 8 THEN 4 ELSE length(rtrim(substr(substr(raw, 131, 29), 10, 17))) / 2 END) + 1) || substr(substr(raw, 131, 29), 10 + length(rtrim(substr(substr(raw, 131, 29), 10, 17)))) || substr(raw, 160)
WHERE kind LIKE 'noc%' AND length(raw) = 189 AND substr(raw, 96, 3) = '798' AND substr(raw, 99, 3) IN ('C07');
