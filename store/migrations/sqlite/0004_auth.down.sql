DROP TABLE server_secrets;

ALTER TABLE api_keys DROP COLUMN modifier;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN description;

ALTER TABLE users DROP COLUMN gid_number;
ALTER TABLE users DROP COLUMN dn;
ALTER TABLE users DROP COLUMN uid;
