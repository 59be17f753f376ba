#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (Node 20.6+ module.register).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
