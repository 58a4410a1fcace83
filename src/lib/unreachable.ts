/**
 * The default of a switch that handles every member of a union: the compiler says which case is
 * missing when the union grows (a column kind, a prepare step), and nothing gets past it at run time.
 */
export function unreachable(value: never, what: string): never {
  throw new Error(`no case for ${what} ${JSON.stringify(value)}`);
}
