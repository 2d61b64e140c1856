// Package gen generates a synthetic company for tests and benchmarks:
// identities with correlated HR attributes and a management hierarchy,
// applications, entitlements, and assignments produced by planted rules
// (attribute combinations that grant entitlement bundles), birthright
// entitlements and random noise, together with the ground truth of what was
// planted.
//
// Noise follows Config.NoiseModel. NoiseMisplaced (the presets' model) is
// misplaced access, the usual shape of anomalous access: an entitlement that
// a planted rule grants to its population, held by an identity outside the
// population of every rule that grants it. NoiseUniform draws the
// entitlement uniformly from all non-birthright entitlements, so part of the
// noise lands on entitlements that nobody holds through a rule.
//
// Generation is deterministic: the same Config (seed included) produces
// byte-identical files, whatever the number of workers. Assignments are
// generated per identity in parallel and streamed to disk, so memory stays
// bounded by the identity table, not the assignment count.
//
// Files written to the output directory:
//
//	applications.{csv,parquet}   app_id, app_name, app_owner_id, app_criticality, app_risk_level
//	entitlements.{csv,parquet}   ent_id, ent_name, ent_owner_id, app_id, ent_criticality, ent_risk_level
//	identities.{csv,parquet}     usr_id, usr_name, usr_manager_id, HR attributes...
//	assignments.{csv,parquet}    usr_id, ent_id, last_used (RFC 3339 or empty/null)
//	truth/planted_rules.csv      rule_id, items (JSON array of encoded items), entitlements (JSON array), members, fire_prob
//	truth/noise_assignments.csv  usr_id, ent_id
//	truth/birthright.csv         ent_id, scope ("all" or an encoded item)
//	truth/summary.json           the configuration and counts
package gen
