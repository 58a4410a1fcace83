-- Exported as CSV after each football load: the original pipeline's report, "Competition, Number of
-- Teams", most teams first; a competition without teams is listed with 0.
SELECT c.name AS "Competition", count(f.team_id) AS "Number of Teams"
  FROM football.dim_competitions c
  LEFT JOIN football.fact_competitions f ON f.competition_id = c.id
 GROUP BY c.id, c.name
 ORDER BY count(f.team_id) DESC, c.name
