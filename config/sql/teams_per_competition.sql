-- Exported as CSV after each football load: teams per competition, for people who want a spreadsheet.
SELECT c.code AS competition_code, c.name AS competition, count(t.id) AS teams
  FROM football.competitions c
  LEFT JOIN football.teams t ON t.competition_code = c.code
 GROUP BY c.code, c.name
 ORDER BY c.code
