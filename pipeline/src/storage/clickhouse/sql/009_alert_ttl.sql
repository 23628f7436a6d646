-- Alerts created with X-Resource-TTL end by themselves: when (NULL: until deleted).
ALTER TABLE {db}.alerts {on_cluster} ADD COLUMN IF NOT EXISTS Expires Nullable(DateTime64(3));
