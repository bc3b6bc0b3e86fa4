#!/usr/bin/env node
// Thin launcher: the command itself is compiled TypeScript (npm ci builds it).
import '../dist/main.js';
