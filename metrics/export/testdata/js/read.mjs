// Reads a directory of cleval exports with readers that share no code with
// Arrow Go: hyparquet (+ hyparquet-compressors for zstd) for Parquet and
// Arrow JS for the Arrow IPC files. Prints a JSON summary of every table
// that TestIndependentReader compares with SQLite.
//
//   node read.mjs DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { tableFromIPC } from 'apache-arrow';

const tables = ['runs', 'experiences', 'evaluations', 'accuracy_matrix', 'metrics', 'gap_events'];
const dir = process.argv[2];

const num = (v) => (typeof v === 'bigint' ? Number(v) : v);

function summarize(table, rows) {
  const out = { rows: rows.length };
  switch (table) {
    case 'runs':
      out.run_id = rows.map((r) => num(r.run_id));
      out.seed = rows.map((r) => num(r.seed));
      out.strategy = rows.map((r) => r.strategy);
      out.hidden0 = rows.map((r) => (r.hidden == null ? null : Array.from(r.hidden, num)));
      out.lr = rows.map((r) => r.lr);
      break;
    case 'experiences':
      out.classes_last = Array.from(rows[rows.length - 1].classes, num);
      break;
    case 'evaluations':
      out.sum_correct = rows.reduce((s, r) => s + num(r.correct), 0);
      out.sum_iteration = rows.reduce((s, r) => s + num(r.iteration), 0);
      out.first_accuracy = rows[0].accuracy;
      out.last_accuracy = rows[rows.length - 1].accuracy;
      out.seen = rows.filter((r) => r.seen).length;
      break;
    case 'accuracy_matrix':
      out.sum_correct = rows.reduce((s, r) => s + num(r.correct), 0);
      break;
    case 'metrics': {
      out.nulls = rows.filter((r) => r.value == null).length;
      const acc = rows.find((r) => num(r.run_id) === 1 && r.variant === 'live' && r.metric === 'acc' && num(r.k) === 0);
      out.acc_run1 = acc ? acc.value : null;
      break;
    }
    case 'gap_events':
      out.depth = rows.map((r) => r.depth);
      out.trough_iteration = rows.map((r) => (r.trough_iteration == null ? null : num(r.trough_iteration)));
      break;
  }
  return out;
}

const result = { parquet: {}, arrow: {} };
for (const t of tables) {
  const file = await asyncBufferFromFile(join(dir, t + '.parquet'));
  result.parquet[t] = summarize(t, await parquetReadObjects({ file, compressors }));
  const ipc = tableFromIPC(readFileSync(join(dir, t + '.arrow')));
  result.arrow[t] = summarize(t, ipc.toArray().map((r) => r.toJSON()));
}
console.log(JSON.stringify(result));
