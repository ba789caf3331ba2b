DROP TABLE audit_log;
DROP TABLE api_keys;
DROP TABLE admin_sessions;
DROP TABLE admin_users;
DROP TABLE instance_values;
