import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { PgpactError } from '../errors.js';
import type { Queryable } from '../postgres/client.js';

/** Where the server log is read from: a file on this machine, or the server itself over SQL. */
export interface LogSource {
  /** For people: the file or `server log via pg_read_binary_file`. */
  readonly description: string;
  /** The text appended since the previous read; the first read returns the log's tail. */
  read(): Promise<string>;
}

/** How much of an existing log the first read takes (deadlocks from before pgpact started). */
const DEFAULT_INITIAL_BYTES = 8 * 1024 * 1024;
/** The most one read takes; the rest comes with the next read. */
const MAX_READ_BYTES = 16 * 1024 * 1024;

/** Follows a log file by offset; a file that shrank or was replaced is read again from its start. */
export class FileLogSource implements LogSource {
  readonly description: string;
  private offset: number | undefined;
  private inode: number | undefined;
  private decoder = new StringDecoder('utf8');

  constructor(
    private readonly file: string,
    private readonly initialBytes = DEFAULT_INITIAL_BYTES,
  ) {
    this.description = file;
  }

  /** Checks the file can be read now (for a clear error up front). */
  static open(file: string, initialBytes?: number): FileLogSource {
    try {
      fs.accessSync(file, fs.constants.R_OK);
    } catch (error) {
      throw new PgpactError(
        'USAGE',
        `cannot read the server log ${file}: ${(error as Error).message}`,
        {
          hint: 'pass the file the server writes with --log-file (log_destination stderr, csvlog or jsonlog)',
          cause: error,
        },
      );
    }
    return new FileLogSource(file, initialBytes);
  }

  async read(): Promise<string> {
    // Most ticks nothing was logged: a stat is cheaper than opening the file.
    try {
      const stat = await fs.promises.stat(this.file);
      if (this.offset !== undefined && stat.ino === this.inode && stat.size === this.offset)
        return '';
    } catch {
      return '';
    }
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.file, 'r');
    } catch {
      return '';
    }
    try {
      const stat = await handle.stat();
      let skipPartialLine = false;
      if (this.offset === undefined || this.inode !== stat.ino || stat.size < this.offset) {
        const first = this.offset === undefined;
        this.offset = first ? Math.max(0, stat.size - this.initialBytes) : 0;
        skipPartialLine = this.offset > 0;
        this.inode = stat.ino;
        this.decoder = new StringDecoder('utf8');
      }
      const length = Math.min(stat.size - this.offset, MAX_READ_BYTES);
      if (length <= 0) return '';
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, this.offset);
      this.offset += bytesRead;
      const text = this.decoder.write(buffer.subarray(0, bytesRead));
      return skipPartialLine ? text.slice(text.indexOf('\n') + 1) : text;
    } finally {
      await handle.close();
    }
  }
}

/**
 * Reads the current log file through the server (pg_current_logfile,
 * pg_read_binary_file): works for remote servers with logging_collector on,
 * for superusers or roles granted pg_read_server_files.
 */
export class ServerLogSource implements LogSource {
  readonly description = 'the server log via pg_read_binary_file';
  private file: string | undefined;
  private offset = 0;
  private decoder = new StringDecoder('utf8');

  constructor(
    private readonly client: Queryable,
    private readonly initialBytes = DEFAULT_INITIAL_BYTES,
  ) {}

  /** The current log file's path, or undefined when the logging collector is off. */
  static async currentFile(client: Queryable): Promise<string | undefined> {
    const { rows } = await client.query<{ file: string | null }>(
      'SELECT pg_current_logfile() AS file',
    );
    return rows[0]?.file ?? undefined;
  }

  /** Whether the server has a log file this connection may read. */
  static async readable(client: Queryable): Promise<boolean> {
    try {
      const file = await ServerLogSource.currentFile(client);
      if (file === undefined) return false;
      await client.query('SELECT length(pg_read_binary_file($1, 0, 1)) AS n', [file]);
      return true;
    } catch {
      return false;
    }
  }

  async read(): Promise<string> {
    const file = await ServerLogSource.currentFile(this.client);
    if (file === undefined) {
      throw new PgpactError(
        'USAGE',
        'the server has no log file to read (logging_collector is off)',
        {
          hint: 'pass the file its stderr goes to with --log-file, or turn logging_collector on',
        },
      );
    }
    const { rows } = await this.client.query<{ size: string }>(
      'SELECT (pg_stat_file($1)).size::text AS size',
      [file],
    );
    const size = Number(rows[0]?.size ?? 0);
    let skipPartialLine = false;
    if (file !== this.file || size < this.offset) {
      const first = this.file === undefined;
      this.offset = first ? Math.max(0, size - this.initialBytes) : 0;
      skipPartialLine = this.offset > 0;
      this.file = file;
      this.decoder = new StringDecoder('utf8');
    }
    const length = Math.min(size - this.offset, MAX_READ_BYTES);
    if (length <= 0) return '';
    const read = await this.client.query<{ data: Buffer }>(
      'SELECT pg_read_binary_file($1, $2, $3) AS data',
      [file, this.offset, length],
    );
    const data = read.rows[0]?.data ?? Buffer.alloc(0);
    this.offset += data.length;
    const text = this.decoder.write(data);
    return skipPartialLine ? text.slice(text.indexOf('\n') + 1) : text;
  }
}
