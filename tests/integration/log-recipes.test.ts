/**
 * The README's log-tailing recipes, run verbatim against a real compose
 * project: every command there that reads a container's log and pipes it
 * into jq must print JSON log lines that match the log schema, and exit 0.
 * (`docker compose logs` piped into jq fails with Compose 2.26.1, which writes
 * ESC[2K before every line: such a recipe in the README fails here.) A recipe
 * that follows the log (`-f`) must also show lines logged after it started;
 * it is ended the way its stream would end, by ending `docker logs -f`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type ComposeFixture, upCompose } from '../support/compose.js';
import { schemaProblems } from '../support/log-lines.js';
import { readmeCommands, startRecipe } from '../support/recipes.js';
import { setUpSuite } from '../support/suite-setup.js';
import { beat, eventually, sendUdp } from '../support/udp.js';

const LOG_RECIPE = /\bdocker (?:compose )?logs\b.*\|\s*jq\b/;
const FOLLOWS = /\blogs\b[^|]*\s(?:-f|--follow)\b/;
const RECIPES = readmeCommands(LOG_RECIPE);
/**
 * `docker logs -f` passes on a line as the engine writes it to the log file;
 * a line in the log this long ago has been passed on to the recipe's jq.
 */
const STREAM_GRACE_MS = 1000;

const ms = (iso: unknown) => Date.parse(String(iso));

describe('README log recipes, run as written', () => {
  let fx: ComposeFixture;
  let clientAddress = '';

  setUpSuite(async () => {
    fx = await upCompose({ environment: { BEACON_INTERVAL: '1s', MARK_INTERVAL: '1s' } });
    clientAddress = await fx.ipAddress('client');
    // The beacon's beats are in the client's log before any recipe reads it.
    await eventually(
      async () => expect((await fx.logRecords('client')).some((l) => l.event === 'readable')).toBe(true),
      30_000,
      250,
    );
  });
  afterAll(async () => {
    await fx?.down();
  });

  it('finds the recipes in README.md, one that follows the log among them', () => {
    expect(RECIPES.length).toBeGreaterThanOrEqual(1);
    expect(RECIPES.some((r) => FOLLOWS.test(r))).toBe(true);
  });

  it.each(RECIPES)('%s', async (recipe) => {
    const follows = FOLLOWS.test(recipe);
    // Read before the recipe starts: every line it shows from then on is new.
    const startedAt = Date.now();
    const recipeRun = startRecipe(recipe, { env: fx.shellEnv, timeoutMs: 30_000 });
    // Something new for whatever the recipe picks: a beat from a sender the client
    // has not seen (`readable`, `state`) and broken JSON (`exception`, malformed_json).
    const source = `recipe-${randomBytes(3).toString('hex')}`;
    await sendUdp(5000, [beat(0, { source, boot: `${source}-boot` }), '{"v":1,"broken'], clientAddress);
    if (follows) {
      await eventually(
        async () => {
          const log = await fx.logRecords('client');
          expect(log.some((l) => l.event === 'state' && l.source === source)).toBe(true);
          expect(log.some((l) => l.event === 'exception' && ms(l.time) >= startedAt)).toBe(true);
        },
        10_000,
        100,
      );
      await new Promise((r) => setTimeout(r, STREAM_GRACE_MS));
      await recipeRun.end('docker');
    }
    const run = await recipeRun.done;

    const context = `${recipe}\nstderr: ${run.stderr}\nfirst lines: ${run.lines.slice(0, 3).join('\n')}`;
    expect({ ended: run.ended, code: run.code }, context).toEqual({ ended: 'exit', code: 0 });
    expect(run.lines.length, context).toBeGreaterThan(0);
    expect(schemaProblems(run.lines)).toEqual([]);
    if (follows)
      expect(
        run.lines.some((l) => ms(JSON.parse(l).time) >= startedAt),
        context,
      ).toBe(true);
  });
});
