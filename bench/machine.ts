import { cpus, loadavg, release, totalmem } from "node:os";
import pg from "pg";

/** The facts a figure depends on, recorded with every run. */
export interface MachineFacts {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly postgres: string;
  readonly synchronousCommit: string;
  readonly walSyncMethod: string;
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  readonly loadAverageAtStart: number;
}

/** Reads the machine's and the database server's facts. */
export async function machineFacts(databaseUrl: string): Promise<MachineFacts> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const setting = async (name: string) =>
    String((await client.query(`show ${name}`)).rows[0]?.[name] ?? "");
  try {
    return {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? "",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      postgres: await setting("server_version"),
      synchronousCommit: await setting("synchronous_commit"),
      walSyncMethod: await setting("wal_sync_method"),
      loadAverageAtStart: Number(loadavg()[0]?.toFixed(2)),
    };
  } finally {
    await client.end();
  }
}
