// skystream <command>: one binary for every role.
import { Command, CommanderError } from "commander";
import { SkystreamError } from "@skystream/common";
import { agentCommand } from "./commands/agent.js";
import { allinoneCommand } from "./commands/allinone.js";
import { apiCommand } from "./commands/api.js";
import { clientCommand } from "./commands/client.js";
import { captureCommand } from "./commands/capture.js";
import { configCommand } from "./commands/config.js";
import { pipelineCommand } from "./commands/pipeline.js";
import type { GlobalOptions } from "./runtime.js";

export function buildProgram(): Command {
  const program = new Command("skystream")
    .description("Live network topology and flow analyzer: agents -> Kafka (Avro) -> stream processors -> ClickHouse")
    .version("0.1.0")
    .option("-c, --config <file>", "YAML config file (also SKYSTREAM_CONFIG); SKYSTREAM_* variables override it")
    .option("--log-level <level>", "log level: fatal, error, warn, info, debug, trace")
    .showHelpAfterError()
    .exitOverride();
  const globals = () => program.opts<GlobalOptions>();
  program.addCommand(agentCommand(globals));
  program.addCommand(pipelineCommand(globals));
  program.addCommand(allinoneCommand(globals));
  program.addCommand(configCommand(globals));
  program.addCommand(captureCommand(globals));
  program.addCommand(apiCommand(globals));
  program.addCommand(clientCommand(globals));
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof SkystreamError) {
      process.stderr.write(`skystream: ${err.message}\n`);
      return err.code === "SKY_ERR_CONFIG_INVALID" ? 2 : 1;
    }
    process.stderr.write(`skystream: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
