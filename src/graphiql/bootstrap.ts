/**
 * The page's only script of keygate's own, served as a file so the page needs no inline
 * script (see the CSP in index.ts). It runs before the GraphiQL bundle: Monaco reads
 * `MonacoEnvironment` when it starts a worker, and gets the worker files from keygate instead
 * of building them from a CDN download. GraphiQL renders once the bundle has loaded.
 */
export const BOOTSTRAP_SCRIPT = `(function () {
  'use strict';
  var settings = JSON.parse(document.getElementById('graphiql-settings').textContent);
  self.MonacoEnvironment = {
    globalAPI: false,
    getWorkerUrl: function (moduleId, label) {
      return settings.workers[label] || settings.workers.editorWorkerService;
    },
  };
  window.addEventListener('DOMContentLoaded', function () {
    YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), settings.graphiql);
  });
})();
`;
