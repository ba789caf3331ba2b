DROP INDEX rewards_remind;
ALTER TABLE rewards DROP COLUMN reminded_at;
DROP INDEX participants_email;
DROP TABLE sign_in_links;
DROP TABLE email_suppressions;
DROP TABLE emails;
