DROP INDEX IF EXISTS role_edits_updated;
DROP INDEX IF EXISTS rule_decisions_updated;
DROP INDEX IF EXISTS assignments_score;
DROP INDEX IF EXISTS rules_justification;
DROP TABLE IF EXISTS identity_attributes;
