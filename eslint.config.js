// One lint setup for the whole repo: typescript-eslint's recommended rules on top of ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'test-artifacts/', 'src/web/static/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // A native peer connection's description getters crash when read while libwebrtc changes the description
    // (issue 18; see src/peer/descriptions.ts). Code running in a browser (pages, page scripts) may read them.
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/web/page/**', 'bench/browser/**', 'test/net/experiments/chromium-lab.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'MemberExpression[property.name=/^(local|remote|currentLocal|currentRemote|pendingLocal|pendingRemote)Description$/]',
          message:
            "Reading a wrtc peer connection's description serializes it while libwebrtc may change it (SIGSEGV, " +
            'issue 18): use SessionDescriptions (src/peer/descriptions.ts), or the description you set.',
        },
      ],
    },
  },
  {
    // Only the CLI and the benchmarks talk to the terminal; library code logs through `debug`.
    files: ['src/cli.ts', 'src/cli/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
);
