-- Authentication for the REST server: the LDAP-like attributes the user
-- endpoints return, API key descriptions, expiry and modifier, and the
-- server's generated secrets (the JWT signing key). Timestamps are
-- microseconds since the epoch (UTC).

ALTER TABLE users ADD COLUMN uid TEXT;
ALTER TABLE users ADD COLUMN dn TEXT;
ALTER TABLE users ADD COLUMN gid_number TEXT;

ALTER TABLE api_keys ADD COLUMN description TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN modifier TEXT;

CREATE TABLE server_secrets (
    name            TEXT NOT NULL PRIMARY KEY,
    value           TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
