import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';

/**
 * Option specs in `node:util` `parseArgs` form.
 *
 * @example
 * ```ts
 * const options = { store: { type: 'string' }, json: { type: 'boolean' } } as const satisfies OptionSpecs;
 * ```
 */
export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends OptionSpecs> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

/**
 * What a command's `run` receives: parsed option values, plain arguments and the I/O.
 *
 * @example
 * ```ts
 * async run({ values, positionals, io }: CommandInput<typeof options>) {
 *   io.stdout.write(`${positionals[0]} ${values.json ? 'as JSON' : ''}\n`);
 *   return 0;
 * }
 * ```
 */
export interface CommandInput<O extends OptionSpecs> {
  readonly values: Parsed<O>['values'];
  readonly positionals: readonly string[];
  readonly io: CliIo;
}

/**
 * One `zoho-tokens <name>` command, as {@link defineCommand} makes it.
 *
 * @example
 * ```ts
 * const parsed = listCommand.parse(['--json']);
 * const code = parsed.help ? 0 : await parsed.run(io);
 * ```
 */
export interface Command {
  readonly name: string;
  /** One line for `zoho-tokens --help`. */
  readonly summary: string;
  /** The full text of `zoho-tokens <name> --help`. */
  readonly help: string;
  /** Parses the arguments after the command name. @throws UsageError */
  parse(argv: readonly string[]): { run(io: CliIo): Promise<number>; help: boolean; verbose: boolean };
}

/** The options every command takes. */
const COMMON = {
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies OptionSpecs;

/**
 * A command from its options and body. `positionals` bounds how many plain arguments it takes;
 * `--help` and `--verbose` are added to every command.
 *
 * @example
 * ```ts
 * export const helloCommand = defineCommand({
 *   name: 'hello',
 *   summary: 'greet someone',
 *   help: 'Usage: zoho-tokens hello <name>\n',
 *   options: {},
 *   positionals: { min: 1, max: 1, names: 'a name' },
 *   async run({ positionals, io }) {
 *     io.stdout.write(`hello ${positionals[0]}\n`);
 *     return 0;
 *   },
 * });
 * ```
 */
export function defineCommand<const O extends OptionSpecs>(spec: {
  name: string;
  summary: string;
  help: string;
  options: O;
  positionals?: { min: number; max: number; names: string };
  run(input: CommandInput<O & typeof COMMON>): Promise<number>;
}): Command {
  const { min = 0, max = 0, names = '' } = spec.positionals ?? {};
  return {
    name: spec.name,
    summary: spec.summary,
    help: spec.help,
    parse(argv) {
      const parsed = parseOrExplain(spec.name, { ...spec.options, ...COMMON }, argv);
      const values = parsed.values as CommandInput<O & typeof COMMON>['values'];
      const common = parsed.values as { help?: boolean; verbose?: boolean };
      const help = common.help === true;
      if (!help && parsed.positionals.length < min) {
        throw new UsageError(`${spec.name} needs ${names} (see zoho-tokens ${spec.name} --help)`);
      }
      if (!help && parsed.positionals.length > max) {
        throw new UsageError(`${spec.name} takes ${max === 0 ? 'no arguments' : `only ${names}`}, got more`);
      }
      return {
        help,
        verbose: common.verbose === true,
        run: (io) => spec.run({ values, positionals: parsed.positionals, io }),
      };
    },
  };
}

function parseOrExplain(command: string, options: OptionSpecs, argv: readonly string[]) {
  try {
    return parseArgs({ args: valuesJoined(options, argv), options, allowPositionals: true, strict: true });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS')) throw error;
    // parseArgs names the option, never its value; its hint about `--` is noise here.
    const first = (error as Error).message.split('. ')[0] ?? 'bad arguments';
    throw new UsageError(`${command}: ${first.replace(/\.$/, '')} (see zoho-tokens ${command} --help)`);
  }
}

/**
 * `--idle -5d` as `--idle=-5d`: parseArgs takes a value starting with `-` for an option and fails
 * with advice about `=`; joined, the command's own check says what the value should be. A value
 * that is one of the command's options stays apart (`--store -v` lacks its URL).
 */
function valuesJoined(options: OptionSpecs, argv: readonly string[]): string[] {
  const known = new Set(Object.entries(options).flatMap(([name, spec]) => [`--${name}`, `-${spec.short}`]));
  const takesValue = (arg: string) => arg.startsWith('--') && options[arg.slice(2)]?.type === 'string';
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    if (arg === '--') return [...args, ...argv.slice(i)];
    if (takesValue(arg) && next?.startsWith('-') && next !== '--' && !known.has(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  return args;
}
