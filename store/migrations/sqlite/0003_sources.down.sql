DROP TABLE mappings;
DROP TABLE data_sources;
