-- After every football load (competitions or teams): the original pipeline's model.
--   football.dim_competitions (id, name, code)    one row per competition (code links the teams feed)
--   football.dim_teams (id, name)                 one row per team
--   football.fact_competitions (competition_id, team_id)   a team plays in a competition
-- Keys and foreign keys are real constraints. A team's membership comes from the teams file of the
-- competition it arrived in (football.competition_teams, replaced per competition), so a team in two
-- competitions counts in both, and a team that left is no longer counted once its competition's
-- teams are delivered again.
-- Runs in the load's transaction, after an advisory lock: loads of the two feeds rebuild the model
-- one after the other, never interleaved.
SELECT pg_advisory_xact_lock(hashtextextended('loadbay:football_model', 0));

CREATE TABLE IF NOT EXISTS football.dim_competitions (
  id   bigint PRIMARY KEY,
  name text NOT NULL,
  code text UNIQUE
);
CREATE TABLE IF NOT EXISTS football.dim_teams (
  id   bigint PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE IF NOT EXISTS football.fact_competitions (
  competition_id bigint NOT NULL REFERENCES football.dim_competitions (id),
  team_id        bigint NOT NULL REFERENCES football.dim_teams (id),
  PRIMARY KEY (competition_id, team_id)
);

INSERT INTO football.dim_competitions (id, name, code)
SELECT id, name, code FROM football.competitions
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, code = EXCLUDED.code;

INSERT INTO football.dim_teams (id, name)
SELECT DISTINCT ON (id) id, name FROM football.competition_teams ORDER BY id, _loaded_at DESC
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;

DELETE FROM football.fact_competitions;
INSERT INTO football.fact_competitions (competition_id, team_id)
SELECT DISTINCT c.id, t.id
  FROM football.competition_teams t
  JOIN football.dim_competitions c ON c.code = t.competition_code;
