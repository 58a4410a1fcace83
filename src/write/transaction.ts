/**
 * The load transaction: one connection from the pool, BEGIN on it, and the only way out is
 * `commit()` or `abort()`. On any failure the connection is destroyed rather than returned (the
 * server rolls back, and no half-finished COPY can hang on a client that goes back to the pool).
 * Savepoints let several files share one transaction, each able to roll back alone.
 */
import type pg from 'pg';
import { checkout } from '../db/database.js';

export class LoadTransaction {
  private open = true;
  private constructor(
    readonly client: pg.PoolClient,
    private readonly done: (destroy?: boolean) => void,
  ) {}

  static async begin(pool: pg.Pool): Promise<LoadTransaction> {
    const { client, done } = await checkout(pool);
    try {
      await client.query('BEGIN');
    } catch (error) {
      done(true);
      throw error;
    }
    return new LoadTransaction(client, done);
  }

  /** A point this transaction can roll back to (`rollbackTo`) without losing what came before. */
  async savepoint(name: string): Promise<void> {
    await this.client.query(`SAVEPOINT ${name}`);
  }

  async rollbackTo(name: string): Promise<void> {
    await this.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
  }

  async release(name: string): Promise<void> {
    await this.client.query(`RELEASE SAVEPOINT ${name}`);
  }

  /** COMMIT, and the connection goes back to the pool. */
  async commit(): Promise<void> {
    if (!this.open) throw new Error('the load transaction is already over');
    try {
      await this.client.query('COMMIT');
    } catch (error) {
      this.abort();
      throw error;
    }
    this.open = false;
    this.done(false);
  }

  /** Ends without committing: the connection is dropped, so the server rolls back. Safe to call twice. */
  abort(): void {
    if (!this.open) return;
    this.open = false;
    this.done(true);
  }
}
