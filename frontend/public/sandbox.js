/*
 * The sandbox page's script (a classic script: this page has an opaque origin, and module scripts from the app
 * would need CORS). The app frames /sandbox.html in an <iframe sandbox="allow-scripts">, waits for "ready",
 * then posts one job: {kind: "python" | "javascript" | "preview", code}. Python and JavaScript run in a module
 * Worker made here (from a data: URL: an opaque origin of its own); their output is posted back line by line. A preview
 * replaces this document with the code. The app enforces the time limit by removing the frame, which ends
 * the worker with it.
 */
"use strict";
(function sandbox() {
  var APP = new URL(document.currentScript.src).origin;
  var taken = false;

  function post(type, text) {
    // The frame's parent is the app (the server allows no other framer: frame-ancestors 'self').
    parent.postMessage({ type: type, text: text === undefined ? "" : String(text) }, "*");
  }

  // Runs inside the worker; the app's origin comes in its first message.
  function workerMain() {
    var send = function (type, text) {
      postMessage({ type: type, text: text === undefined ? "" : String(text) });
    };
    function format(args) {
      return Array.prototype.map
        .call(args, function (value) {
          if (typeof value === "string") return value;
          if (value instanceof Error) return value.stack || String(value);
          try {
            return JSON.stringify(value);
          } catch (error) {
            return String(value);
          }
        })
        .join(" ");
    }
    async function runPython(app, code) {
      send("status", "loading");
      var started = performance.now();
      // A module import (CORS), not importScripts: Chromium refuses a cross-origin classic script to this origin.
      var module = await import(app + "/pyodide/pyodide.mjs");
      var pyodide = await module.loadPyodide({ indexURL: app + "/pyodide/" });
      send("loaded", Math.round(performance.now() - started));
      pyodide.setStdout({ batched: function (text) { send("stdout", text + "\n"); } });
      pyodide.setStderr({ batched: function (text) { send("stderr", text + "\n"); } });
      send("status", "running");
      try {
        await pyodide.runPythonAsync(code);
        send("done");
      } catch (error) {
        send("stderr", (error && error.message) || String(error));
        send("failed");
      }
    }
    async function runJavaScript(code) {
      ["log", "info", "debug"].forEach(function (name) {
        console[name] = function () { send("stdout", format(arguments) + "\n"); };
      });
      ["error", "warn"].forEach(function (name) {
        console[name] = function () { send("stderr", format(arguments) + "\n"); };
      });
      send("status", "running");
      try {
        await (0, eval)(code);
        send("done");
      } catch (error) {
        send("stderr", ((error && error.stack) || String(error)) + "\n");
        send("failed");
      }
    }
    onmessage = function (event) {
      var job = event.data;
      var run = job.kind === "python" ? runPython(job.app, job.code) : runJavaScript(job.code);
      run.catch(function (error) {
        send("stderr", String((error && error.message) || error) + "\n");
        send("failed");
      });
    };
  }

  function runInWorker(kind, code) {
    var source = "(" + workerMain.toString() + ")();";
    // A module worker (Pyodide refuses classic ones) from a data: URL: Chromium will not start a module worker
    // from this opaque origin's blob: URLs, and an app URL would be cross-origin here.
    var worker = new Worker("data:text/javascript;charset=utf-8," + encodeURIComponent(source), { type: "module" });
    worker.onmessage = function (event) {
      post(event.data.type, event.data.text);
    };
    worker.onerror = function (event) {
      event.preventDefault();
      post("stderr", (event.message || "The runner failed to start.") + "\n");
      post("failed");
    };
    worker.postMessage({ kind: kind, code: code, app: APP });
  }

  function preview(code, language) {
    var page =
      language === "css"
        ? "<!doctype html><meta charset=utf-8><style>" + code + "</style>" +
          "<h1>Heading</h1><p>A paragraph with <a href='#'>a link</a> and <strong>bold text</strong>.</p>" +
          "<ul><li>One</li><li>Two</li></ul><button type='button'>Button</button>"
        : code;
    document.open();
    document.write(page);
    document.close();
  }

  addEventListener("message", function (event) {
    var job = event.data;
    if (taken || event.source !== parent || !job || typeof job.code !== "string") return;
    taken = true;
    if (job.kind === "preview") preview(job.code, job.language);
    else if (job.kind === "python" || job.kind === "javascript") runInWorker(job.kind, job.code);
  });
  post("ready");
})();
