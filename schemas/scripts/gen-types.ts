// Generates schemas/src/types.generated.ts from the newest version of each schema in the catalog.
// `npm run gen:types` writes it; the schemas test fails when the checked-in file is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderTypes } from "../src/typegen.ts";

const out = fileURLToPath(new URL("../src/types.generated.ts", import.meta.url));
writeFileSync(out, renderTypes());
console.log(`wrote ${out}`);
