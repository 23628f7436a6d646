import { Command } from "commander";
import { SkystreamError } from "@skystream/common";

/** A command whose capability is not built yet: listed with its help, fails with a clear message. */
export function notYet(name: string, description: string, what: string): Command {
  return new Command(name)
    .description(`${description} (not available yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new SkystreamError("SKY_ERR_CLI_NOT_YET", `"skystream ${name}" is not available yet: ${what}`);
    });
}
