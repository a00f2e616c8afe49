-- test/demo/registry_seed.sql: sample data for the model registry and
-- feature catalog of test/registry/*.sql, for a database at heads
-- (SELECT * FROM migrate.upgrade('heads') first).
--
-- Rows go only to trunk tables (models, model_versions, feature_sets,
-- features, datasets, model_version_inputs; promotion_events through its
-- trigger), never to a table that only one branch creates (prediction_logs,
-- feature_owners, feature_tags), so that downgrading one branch and
-- upgrading again keeps all of it:
--   - model_versions.artifact_url is renamed back and forth (r10): the data
--     stays;
--   - model_versions.framework is dropped and backfilled again (r09): every
--     framework below is either in metrics->>'framework' or follows from the
--     artifact's extension, except fraud-detector v1, whose framework the
--     downgrade writes into metrics so the upgrade gets it back.
--
-- Safe to run twice: every insert skips rows that are already there, and the
-- promotion only changes a stage once.

BEGIN;

INSERT INTO models (name, task) VALUES
    ('churn-predictor',  'binary-classification'),
    ('fraud-detector',   'anomaly-detection'),
    ('product-recs',     'ranking')
ON CONFLICT (name) DO NOTHING;

INSERT INTO feature_sets (name, description) VALUES
    ('customer_profile', 'static attributes of a customer'),
    ('txn_aggregates',   'rolling aggregates over card transactions'),
    ('session_events',   'click-stream features of the current session')
ON CONFLICT (name) DO NOTHING;

INSERT INTO features (feature_set_id, name, dtype)
SELECT fs.id, f.name, f.dtype
  FROM (VALUES
        ('customer_profile', 'tenure_days',        'int32'),
        ('customer_profile', 'plan_tier',          'category'),
        ('customer_profile', 'country',            'category'),
        ('txn_aggregates',   'txn_count_7d',       'int32'),
        ('txn_aggregates',   'txn_amount_sum_7d',  'float64'),
        ('txn_aggregates',   'merchant_entropy',   'float32'),
        ('session_events',   'items_viewed',       'int32'),
        ('session_events',   'last_category',      'category'),
        ('session_events',   'dwell_time_s',       'float32')
       ) AS f (feature_set, name, dtype)
  JOIN feature_sets fs ON fs.name = f.feature_set
ON CONFLICT (feature_set_id, name) DO NOTHING;

INSERT INTO datasets (name, uri, row_count, snapshot_at) VALUES
    ('churn_train_2026q3', 's3://ml-data/churn/2026q3/',     1250000, '2026-09-30 00:00+00'),
    ('churn_train_2026q4', 's3://ml-data/churn/2026q4/',     1310000, '2026-11-15 00:00+00'),
    ('fraud_train_2026h2', 's3://ml-data/fraud/2026h2/',    48000000, '2026-10-31 00:00+00'),
    ('recs_clicks_2026_11','s3://ml-data/recs/2026-11/',   210000000, '2026-11-20 00:00+00')
ON CONFLICT (name) DO NOTHING;

-- Versions start in stage 'none' (the default): no promotion event yet.
INSERT INTO model_versions (model_id, version, artifact_url, metrics, framework)
SELECT m.id, v.version, v.artifact_url, v.metrics::jsonb, v.framework
  FROM (VALUES
        ('churn-predictor', 1, 's3://ml-models/churn/1/model.pkl',
         '{"auc": 0.861, "logloss": 0.412}',                         'sklearn'),
        ('churn-predictor', 2, 's3://ml-models/churn/2/model.bin',
         '{"auc": 0.874, "logloss": 0.398, "framework": "xgboost"}', 'xgboost'),
        ('churn-predictor', 3, 's3://ml-models/churn/3/model.onnx',
         '{"auc": 0.879, "logloss": 0.391}',                         'onnx'),
        ('fraud-detector',  1, 's3://ml-models/fraud/1/model.bin',
         '{"precision_at_1pct": 0.72}',                              'lightgbm'),
        ('fraud-detector',  2, 's3://ml-models/fraud/2/model.pt',
         '{"precision_at_1pct": 0.78, "framework": "pytorch"}',      'pytorch'),
        ('product-recs',    1, 's3://ml-models/recs/1/model.keras',
         '{"ndcg_at_10": 0.331}',                                    'tensorflow')
       ) AS v (model, version, artifact_url, metrics, framework)
  JOIN models m ON m.name = v.model
ON CONFLICT (model_id, version) DO NOTHING;

-- Lineage: what each version was trained on.
INSERT INTO model_version_inputs (model_id, version, dataset_id, feature_set_id)
SELECT m.id, i.version, d.id, fs.id
  FROM (VALUES
        ('churn-predictor', 1, 'churn_train_2026q3',  'customer_profile'),
        ('churn-predictor', 2, 'churn_train_2026q3',  'customer_profile'),
        ('churn-predictor', 3, 'churn_train_2026q4',  'customer_profile'),
        ('churn-predictor', 3, 'churn_train_2026q4',  'txn_aggregates'),
        ('fraud-detector',  1, 'fraud_train_2026h2',  'txn_aggregates'),
        ('fraud-detector',  2, 'fraud_train_2026h2',  'txn_aggregates'),
        ('fraud-detector',  2, 'fraud_train_2026h2',  'customer_profile'),
        ('product-recs',    1, 'recs_clicks_2026_11', 'session_events')
       ) AS i (model, version, dataset, feature_set)
  JOIN models m        ON m.name  = i.model
  JOIN datasets d      ON d.name  = i.dataset
  JOIN feature_sets fs ON fs.name = i.feature_set
ON CONFLICT DO NOTHING;

-- Promotions: each stage change fires the trigger, which logs it to
-- promotion_events. churn-predictor v2 goes to production through staging;
-- v1 is archived. fraud-detector v2 is in staging.
UPDATE model_versions mv SET stage = 'staging'
  FROM models m
 WHERE m.id = mv.model_id AND mv.stage = 'none'
   AND (m.name, mv.version) IN (('churn-predictor', 2), ('fraud-detector', 2));

UPDATE model_versions mv SET stage = 'archived'
  FROM models m
 WHERE m.id = mv.model_id AND mv.stage = 'none'
   AND (m.name, mv.version) = ('churn-predictor', 1);

UPDATE model_versions mv SET stage = 'production'
  FROM models m
 WHERE m.id = mv.model_id AND mv.stage = 'staging'
   AND (m.name, mv.version) = ('churn-predictor', 2);

COMMIT;

-- What the seed left: every version with its stage, and the audit trail.
SELECT m.name AS model, mv.version, mv.stage, mv.framework, mv.artifact_url
  FROM model_versions mv JOIN models m ON m.id = mv.model_id
 ORDER BY m.name, mv.version;

SELECT m.name AS model, pe.version, pe.from_stage, pe.to_stage
  FROM promotion_events pe JOIN models m ON m.id = pe.model_id
 ORDER BY pe.id;
