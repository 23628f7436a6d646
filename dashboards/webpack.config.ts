// The scaffold's build (.config/, owned by @grafana/create-plugin) plus what our monorepo needs: the panel
// draws with the views core shared with the web UI (../views), written as ESM TypeScript with `.js`
// import suffixes.
import path from 'path';
import type { Configuration } from 'webpack';
import { merge } from 'webpack-merge';
import grafanaConfig, { type Env } from './.config/webpack/webpack.config';

const config = async (env: Env): Promise<Configuration> =>
  merge(await grafanaConfig(env), {
    resolve: {
      alias: { '@skystream/views': path.resolve(__dirname, '../views/src/index.ts') },
      extensionAlias: { '.js': ['.ts', '.js'] },
    },
  });

export default config;
