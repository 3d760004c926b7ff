/**
 * Gantry's public API for programs: start the gateway or the simulator in
 * process, load a config, and the error table.
 *
 * @example
 * import { loadConfig, startGateway } from 'gantry';
 * const gateway = await startGateway({ config: loadConfig({ path: 'gantry.yaml' }) });
 */
export { ANTHROPIC_ERROR_STATUS, errorEnvelope } from './anthropic/errors.ts';
export { closestModelIds, listModels, MODELS, resolveModel } from './anthropic/models.ts';
export { ConfigError, loadConfig } from './config/load.ts';
export type { ResolvedConfig } from './config/types.ts';
export { ERROR_CODES, GantryError } from './errors.ts';
export { type Gateway, type GatewayOptions, startGateway } from './gateway/server.ts';
export { type Simulator, type SimulatorOptions, startSimulator } from './simulator/index.ts';
