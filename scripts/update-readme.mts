// Regenerates README.md's command reference from the commands' --help texts.
import fs from 'node:fs';
import { withCommandReference } from '../src/cli/reference.js';

const file = new URL('../README.md', import.meta.url);
fs.writeFileSync(file, withCommandReference(fs.readFileSync(file, 'utf8')));
console.log('README.md command reference updated');
