#!/usr/bin/env node
// The installed `actorfs` command: the CLI is TypeScript, loaded through tsx (it imports no workspace package).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
