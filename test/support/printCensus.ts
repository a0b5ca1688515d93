/** Prints the README's export table from the census: `npx tsx test/support/printCensus.ts`. */
import { censusMarkdown } from './exportFamilies';

console.log(censusMarkdown());
