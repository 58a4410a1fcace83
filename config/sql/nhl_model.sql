-- After every NHL box score load: the original job's models, rebuilt from nhl.game_stats, where
-- team_name is the team of the game's box score (teams.<side>.team), the team a player scored for.
--   nhl.nhl_players (id, full_name, team_name, assists, goals, points = goals + assists)
--       one row per player over every game loaded; name and team from the player's latest game
--   nhl.player_team_points (team_name, id, full_name, games, assists, goals, points)
--       the points a player scored for a team: a player traded between games has a row per team
--   nhl.points_leaders (team_name, full_name, points)
--       each team's top scorer by the points scored for that team (tied leaders all kept), only
--       teams with a player with a point: a team a player joined later is not credited with what
--       he scored for his former team
-- Runs in the load's transaction after an advisory lock, so two games loading at once take turns.
SELECT pg_advisory_xact_lock(hashtextextended('loadbay:nhl_model', 0));

CREATE TABLE IF NOT EXISTS nhl.nhl_players (
  id        bigint PRIMARY KEY,
  full_name text NOT NULL,
  team_name text NOT NULL,
  assists   bigint NOT NULL,
  goals     bigint NOT NULL,
  points    bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS nhl.player_team_points (
  team_name text NOT NULL,
  id        bigint NOT NULL,
  full_name text NOT NULL,
  games     bigint NOT NULL,
  assists   bigint NOT NULL,
  goals     bigint NOT NULL,
  points    bigint NOT NULL,
  PRIMARY KEY (team_name, id)
);
CREATE TABLE IF NOT EXISTS nhl.points_leaders (
  team_name text NOT NULL,
  full_name text NOT NULL,
  points    bigint NOT NULL
);

DELETE FROM nhl.nhl_players;
INSERT INTO nhl.nhl_players (id, full_name, team_name, assists, goals, points)
SELECT person_id,
       (array_agg(full_name ORDER BY game_id DESC))[1],
       (array_agg(team_name ORDER BY game_id DESC))[1],
       sum(assists), sum(goals), sum(goals) + sum(assists)
  FROM nhl.game_stats
 GROUP BY person_id;

DELETE FROM nhl.player_team_points;
INSERT INTO nhl.player_team_points (team_name, id, full_name, games, assists, goals, points)
SELECT team_name, person_id,
       (array_agg(full_name ORDER BY game_id DESC))[1],
       count(*), sum(assists), sum(goals), sum(goals) + sum(assists)
  FROM nhl.game_stats
 GROUP BY team_name, person_id;

DELETE FROM nhl.points_leaders;
INSERT INTO nhl.points_leaders (team_name, full_name, points)
SELECT team_name, full_name, points
  FROM (SELECT team_name, full_name, points, rank() OVER (PARTITION BY team_name ORDER BY points DESC) AS place
          FROM nhl.player_team_points) ranked
 WHERE place = 1 AND points > 0;
