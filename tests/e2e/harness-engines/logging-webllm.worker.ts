/** workers/webllm.worker.ts, unchanged, in a worker whose Cache API, fetch and MLCEngine config are logged (cache-log.ts). */
import './cache-log.ts';
import '../../../workers/webllm.worker.ts';
