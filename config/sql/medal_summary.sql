-- After each athlete-events load: rebuild reporting.medal_summary, the number of distinct teams
-- with at least one medal per Games (year, season). Runs in the load's transaction: readers see the
-- old summary until the new rows commit, and a failure here rolls the load back (the file is held).
-- Two loads at once would each delete and insert the summary: the lock makes them take turns.
SELECT pg_advisory_xact_lock(hashtextextended('loadbay:medal_summary', 0));
CREATE SCHEMA IF NOT EXISTS reporting;
CREATE TABLE IF NOT EXISTS reporting.medal_summary (
  year bigint NOT NULL,
  season text NOT NULL,
  countries_with_medals bigint NOT NULL,
  PRIMARY KEY (year, season)
);
DELETE FROM reporting.medal_summary;
INSERT INTO reporting.medal_summary (year, season, countries_with_medals)
SELECT year, season, count(DISTINCT team)
  FROM public.athlete_events
 WHERE medal IS NOT NULL
 GROUP BY year, season;
