DO $$
BEGIN
    EXECUTE 'ALTER TABLE datasets ALTER COLUMN raw_file SET COMPRESSION DEFAULT';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    NULL;
END
$$;
