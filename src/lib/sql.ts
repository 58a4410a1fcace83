/** A user's query without its closing semicolon (and what follows it: spaces, comments), to be wrapped (a cursor, `COPY (…) TO`). */
export function withoutClosingSemicolon(sql: string): string {
  return sql.replace(/;(\s|--[^\n]*)*$/, '').trimEnd();
}
