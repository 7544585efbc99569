// The upload module, part one: one file in the upload queue (an Item). It asks the
// console for an upload job, sends the file's chunks, retries them, and follows
// the job's card; static/js/upload.js holds the panel that queues the files.
//
// Each file becomes an upload job on the server, which answers with the chunk
// size and URLs. The file is then sent in chunks, each its own PUT request with
// the file's slice as its raw body (read from disk by the browser as it goes,
// never copied into script memory), a few in flight, every failed chunk retried.
// The connection (TLS) protects a chunk on its way to the console; the MD5 the
// console records travels with the part, and the bucket checks it. The worker
// stores parts while later chunks are still on their way.
(function () {
  "use strict";

  // A failed request is tried again after 1, 2, 4, 8, 16, then every 30 seconds:
  // 9 tries span about two and a half minutes, long enough to outlast a restart
  // of the console's database or queue (which answer 503 meanwhile).
  var RETRIES = 9;

  // Words shown to people come from the console's JavaScript catalogue (the
  // page loads it first); without it they stay in English.
  var gettext = window.gettext || function (text) { return text; };
  function fill(format, values) {
    return window.interpolate ? window.interpolate(format, values) : format.replace(/%s/g, function () {
      return values.shift();
    });
  }
  function left(duration) {
    return fill(gettext("%s left"), [duration]);
  }
  function perSecond(bytes) {
    return fill(gettext("%s/s"), [formatBytes(bytes)]);
  }
  var STATES = {
    waiting: gettext("waiting"),
    sending: gettext("sending"),
    paused: gettext("paused"),
    sent: gettext("sent"),
    failed: gettext("failed"),
    canceled: gettext("canceled"),
    restarting: gettext("restarting"),
  };
  var RETRY_DELAY_MS = 1000;
  var RETRY_MAX_DELAY_MS = 30000;

  function backoff(count) {
    return Math.min(RETRY_DELAY_MS * Math.pow(2, count - 1), RETRY_MAX_DELAY_MS);
  }

  // Whether a failed answer is worth another try: the console or the network
  // was away for a moment (503 from an outage, 502/504 from a proxy, no answer).
  function passing(status) {
    return status === 0 || status === 502 || status === 503 || status === 504;
  }
  // How long after a click here the job card's word is not taken as a change
  // made elsewhere (a poll sent before the click still shows the old state).
  var FOLLOW_GRACE_MS = 3000;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  // Binary units, with the decimal separator of the page's language (from the
  // console's JavaScript catalogue), as the pages write sizes: "1.5 MiB".
  var DECIMAL = (window.get_format && window.get_format("DECIMAL_SEPARATOR")) || ".";
  function formatBytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) {
      n /= 1024;
      i += 1;
    }
    return (i ? n.toFixed(1).replace(".", DECIMAL) : String(Math.round(n))) + " " + units[i];
  }

  function formatSeconds(s) {
    if (!isFinite(s) || s < 0) return "";
    s = Math.round(s);
    if (s < 60) return fill(gettext("%s s"), [s]);
    if (s < 3600) return fill(gettext("%s min %s s"), [Math.floor(s / 60), s % 60]);
    return fill(gettext("%s h %s min"), [Math.floor(s / 3600), Math.floor((s % 3600) / 60)]);
  }

  // Characters that are invisible or reorder the text around them (a file named
  // "rtl\u202egnp.exe" would read "rtlexe.png"), shown as their code point, as
  // the console's pages show them in keys.
  var HIDDEN = /[\u0000-\u001f\u007f-\u00a0\u00ad\u061c\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\ufeff\ufff9-\ufffb]/;

  function showVisibly(element, text) {
    element.textContent = "";
    Array.prototype.forEach.call(text, function (char) {
      if (HIDDEN.test(char)) {
        var mark = document.createElement("mark");
        mark.className = "ctl";
        mark.textContent = "U+" + char.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
        element.appendChild(mark);
      } else {
        element.appendChild(document.createTextNode(char));
      }
    });
  }

  // Speed over the last few seconds, from (time, bytes) samples.
  function Meter() {
    this.samples = [];
  }
  Meter.prototype.add = function (loaded) {
    var now = Date.now();
    this.samples.push([now, loaded]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 5000) this.samples.shift();
  };
  Meter.prototype.speed = function () {
    if (this.samples.length < 2) return 0;
    var first = this.samples[0];
    var last = this.samples[this.samples.length - 1];
    var seconds = (last[0] - first[0]) / 1000;
    return seconds > 0 ? (last[1] - first[1]) / seconds : 0;
  };

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body || null,
      credentials: "same-origin",
      // JSON answers, also when the console is away for a moment (503 in words).
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    });
  }

  function errorText(response, fallback) {
    return response
      .json()
      .then(function (data) {
        return data.error || fallback;
      })
      .catch(function () {
        return fallback + " (HTTP " + response.status + ")";
      });
  }

  // One file in the queue.
  function Item(panel, file, path) {
    this.panel = panel;
    this.file = file;
    this.path = path;
    this.loaded = 0; // bytes of chunks fully sent
    this.partial = {}; // chunk number -> bytes of that chunk sent so far
    // waiting, sending, paused, sent, canceled, failed, restarting (after a failure)
    this.state = "waiting";
    this.meter = new Meter();
    this.requests = {};
    this.timers = {}; // chunk number -> timer of its next retry
    this.pending = [];
    this.retries = {};
    this.render();
  }

  Item.prototype.render = function () {
    var node = this.panel.template.content.firstElementChild.cloneNode(true);
    showVisibly(node.querySelector(".upload-name"), this.path);
    this.node = node;
    this.bar = node.querySelector("progress");
    this.text = node.querySelector(".upload-text");
    this.error = node.querySelector(".upload-error");
    var self = this;
    node.querySelector("[data-action=pause]").addEventListener("click", function () {
      self.pause();
    });
    node.querySelector("[data-action=resume]").addEventListener("click", function () {
      self.resume();
    });
    node.querySelector("[data-action=cancel]").addEventListener("click", function () {
      self.cancel();
    });
    node.querySelector("[data-action=retry]").addEventListener("click", function () {
      self.restart();
    });
    this.panel.queue.appendChild(node);
    this.update();
  };

  Item.prototype.sent = function () {
    var total = this.loaded;
    for (var n in this.partial) total += this.partial[n];
    return Math.min(total, this.file.size);
  };

  Item.prototype.update = function () {
    var sent = this.sent();
    var size = this.file.size;
    var percent = size ? Math.floor((sent * 100) / size) : this.state === "sent" ? 100 : 0;
    if (this.state === "sent") percent = 100;
    this.meter.add(sent);
    var speed = this.meter.speed();
    this.bar.value = percent;
    var words = formatBytes(sent) + " / " + formatBytes(size) + " · " + percent + " %";
    if (this.state === "sending" && speed > 0) {
      words += " · " + perSecond(speed) + " · " + left(formatSeconds((size - sent) / speed));
    } else if (this.state !== "sending") {
      words += " · " + (STATES[this.state] || this.state);
    }
    this.text.textContent = words;
    this.bar.setAttribute("aria-valuetext", words);
    this.node.setAttribute("data-state", this.state);
    this.node.querySelector("[data-action=pause]").hidden = this.state !== "sending" && this.state !== "waiting";
    this.node.querySelector("[data-action=resume]").hidden = this.state !== "paused";
    this.node.querySelector("[data-action=cancel]").hidden = ["sent", "canceled", "failed"].indexOf(this.state) >= 0;
    this.node.querySelector("[data-action=retry]").hidden = this.state !== "failed";
    this.panel.updateOverall();
  };

  // `ended`: the server has ended this upload, so a retry starts it afresh.
  Item.prototype.fail = function (message, ended) {
    if (ended) this.ended = true;
    this.state = "failed";
    this.abortAll();
    this.error.textContent = message;
    this.error.hidden = false;
    this.update();
    this.panel.pump();
  };

  // Ask the server for an upload job; learn the chunk size and URLs.
  Item.prototype.create = function (count) {
    var self = this;
    count = count || 0;
    function again(text) {
      if (count >= RETRIES) return self.fail(text);
      setTimeout(function () {
        if (self.state === "sending") self.create(count + 1);
      }, backoff(count + 1));
    }
    var body = new FormData(this.panel.options);
    body.set("prefix", this.panel.prefix);
    body.set("path", this.path);
    body.set("size", String(this.file.size));
    if (!body.get("content_type") && this.file.type) body.set("content_type", this.file.type);
    // With the name and size, this lets the console recognise the same file chosen
    // again after a reload, and carry on with the upload it already has.
    body.set("fingerprint", String(this.file.lastModified || ""));
    this.state = "sending";
    this.update();
    return post(this.panel.url, body).then(function (response) {
      if (!response.ok) {
        return errorText(response, gettext("The upload could not start.")).then(function (text) {
          // An upload created before the outage is found again by its fingerprint.
          if (passing(response.status)) return again(text);
          self.fail(text);
        });
      }
      return response.json().then(function (info) {
        self.info = info;
        var received = {};
        info.received.forEach(function (n) {
          received[n] = true;
        });
        for (var n = 1; n <= info.chunks; n += 1) {
          if (!received[n]) {
            self.pending.push(n);
          } else {
            self.loaded += Math.min(info.chunk_size, info.size - (n - 1) * info.chunk_size);
          }
        }
        self.showJob();
        document.body.dispatchEvent(new CustomEvent("jobStarted", { bubbles: true }));
        if (self.state === "paused") {
          post(info.pause_url);
        }
        if (self.state === "canceled") {
          post(info.cancel_url);
        }
        self.panel.pump();
        // Chosen again after every chunk had arrived: only "all sent" is missing.
        if (self.state === "sending" && self.outstanding() === 0) self.finish();
      });
    }, function () {
      again(gettext("The console could not be reached."));
    });
  };

  // The job card from the server, which polls itself until the job ends.
  Item.prototype.showJob = function () {
    var holder = this.node.querySelector(".upload-job");
    var link = document.createElement("a");
    link.href = this.info.job_url;
    link.textContent = gettext("job");
    link.setAttribute("hx-get", this.info.job_url);
    link.setAttribute("hx-trigger", "load");
    link.setAttribute("hx-swap", "outerHTML");
    holder.appendChild(link);
    var self = this;
    holder.addEventListener("htmx:load", function () {
      self.follow(holder.querySelector(".job-card"));
    });
    if (window.htmx) window.htmx.process(holder);
  };

  Item.prototype.canSend = function () {
    return this.state === "sending" && this.info && this.pending.length > 0;
  };

  Item.prototype.sendNext = function () {
    var number = this.pending.shift();
    var start = (number - 1) * this.info.chunk_size;
    this.put(number, this.file.slice(start, Math.min(start + this.info.chunk_size, this.file.size)));
  };

  Item.prototype.put = function (number, blob) {
    var self = this;
    var xhr = new XMLHttpRequest();
    this.requests[number] = xhr;
    xhr.open("PUT", this.info.chunk_url + number);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = function (event) {
      self.partial[number] = event.loaded;
      self.update();
    };
    xhr.onload = function () {
      delete self.requests[number];
      delete self.partial[number];
      if (xhr.status === 200) {
        self.loaded += blob.size;
        self.chunkDone();
      } else if (xhr.status === 409 || xhr.status === 404) {
        self.fail(self.jsonError(xhr, gettext("The upload has ended on the server.")), true);
      } else if (xhr.status === 401 || xhr.status === 403) {
        // The session has ended (or its CSRF token changed): retrying cannot help.
        self.fail(self.jsonError(xhr, gettext("The console refused the chunk; reload the page.")));
      } else if (xhr.status === 400 && xhr.responseText.indexOf("must be") >= 0) {
        self.fail(self.jsonError(xhr, gettext("The server refused a chunk.")), true);
      } else {
        self.retry(number, self.jsonError(xhr, gettext("A chunk failed.")));
      }
    };
    xhr.onerror = function () {
      delete self.requests[number];
      delete self.partial[number];
      self.retry(number, gettext("The connection failed."));
    };
    xhr.send(blob);
  };

  Item.prototype.jsonError = function (xhr, fallback) {
    try {
      return JSON.parse(xhr.responseText).error || fallback;
    } catch (e) {
      return fallback + " (HTTP " + xhr.status + ")";
    }
  };

  Item.prototype.retry = function (number, message) {
    if (this.state !== "sending") {
      this.pending.unshift(number);
      return;
    }
    var count = (this.retries[number] || 0) + 1;
    this.retries[number] = count;
    if (count > RETRIES) {
      this.pending.unshift(number); // for Retry
      this.fail(message);
      return;
    }
    var self = this;
    this.timers[number] = setTimeout(function () {
      delete self.timers[number];
      self.pending.unshift(number);
      self.panel.pump();
    }, backoff(count));
    this.update();
    this.panel.pump();
  };

  Item.prototype.chunkDone = function () {
    this.update();
    if (this.outstanding() === 0 && this.state === "sending") {
      this.finish();
    }
    this.panel.pump();
  };

  Item.prototype.finish = function (count) {
    var self = this;
    count = count || 0;
    function again(text) {
      if (count >= RETRIES) return self.fail(text);
      self.timers.finish = setTimeout(function () {
        delete self.timers.finish;
        self.finish(count + 1);
      }, backoff(count + 1));
    }
    post(this.info.complete_url).then(function (response) {
      if (!response.ok) {
        return errorText(response, gettext("The upload could not be completed.")).then(function (text) {
          if (passing(response.status)) return again(text);
          self.fail(text, response.status === 409 || response.status === 404);
        });
      }
      self.state = "sent";
      self.update();
      self.panel.pump();
    }, function () {
      again(gettext("The console could not be reached."));
    });
  };

  Item.prototype.inFlight = function () {
    return Object.keys(this.requests).length;
  };

  // Chunks not yet accepted by the server: queued, in flight or waiting to retry.
  Item.prototype.outstanding = function () {
    return this.pending.length + this.inFlight() + Object.keys(this.timers).length;
  };

  Item.prototype.clearTimers = function () {
    for (var t in this.timers) {
      clearTimeout(this.timers[t]);
      this.pending.unshift(Number(t));
      delete this.timers[t];
    }
    this.pending.sort(function (a, b) {
      return a - b;
    });
  };

  Item.prototype.abortAll = function () {
    this.clearTimers();
    for (var n in this.requests) {
      this.requests[n].abort();
      this.pending.unshift(Number(n));
      delete this.requests[n];
      delete this.partial[n];
    }
    this.pending.sort(function (a, b) {
      return a - b;
    });
  };

  // Chunks already on their way are let through (the console keeps them for the
  // paused upload), so what the panel shows as sent never goes backwards; no new
  // chunk starts until Resume.
  Item.prototype.stopSending = function () {
    this.state = "paused";
    this.clearTimers();
    this.update();
    this.panel.pump();
  };

  Item.prototype.pause = function () {
    if (this.state !== "sending" && this.state !== "waiting") return;
    this.changedHere = Date.now();
    this.stopSending();
    if (this.info) post(this.info.pause_url);
  };

  Item.prototype.resume = function () {
    if (this.state !== "paused") return;
    var self = this;
    this.changedHere = Date.now();
    this.state = this.info ? "sending" : "waiting";
    this.update();
    if (!this.info) {
      this.panel.pump();
      return;
    }
    post(this.info.resume_url).then(function () {
      self.panel.pump();
      if (self.outstanding() === 0) self.finish();
    });
  };

  // Retry a failed file: carry on with the same upload while the server still
  // has it (its next chunk wakes it if it was paused for the silence), or start
  // afresh when the server has ended it or never created it.
  Item.prototype.restart = function () {
    if (this.state !== "failed") return;
    this.error.hidden = true;
    this.retries = {};
    if (!this.info || this.ended) {
      // A running remnant of the old upload is canceled first, so that the new
      // one does not carry on with it (a failed one is purged by the console).
      var canceled = this.info ? post(this.info.cancel_url) : Promise.resolve();
      this.info = null;
      this.ended = false;
      this.loaded = 0;
      this.partial = {};
      this.pending = [];
      this.meter = new Meter();
      this.node.querySelector(".upload-job").textContent = "";
      this.state = "restarting";
      this.update();
      var self = this;
      var start = function () {
        if (self.state !== "restarting") return; // canceled meanwhile
        self.state = "waiting";
        self.panel.pump();
      };
      canceled.then(start, start);
      return;
    }
    this.state = "sending";
    this.update();
    this.panel.pump();
    if (this.outstanding() === 0) this.finish(); // every chunk is there: say so again
  };

  Item.prototype.cancel = function () {
    if (["sent", "canceled", "failed"].indexOf(this.state) >= 0) return;
    this.stop("canceled");
    if (this.info) post(this.info.cancel_url);
  };

  // Nothing more is sent for this file: it was canceled (here or on the jobs page).
  Item.prototype.stop = function (state, message) {
    this.state = state;
    this.abortAll();
    this.pending = [];
    if (message) {
      this.error.textContent = message;
      this.error.hidden = false;
    }
    this.update();
    this.panel.pump();
  };

  // The job card polls the job's row; the panel follows what it says, so a pause,
  // resume or cancel made on the jobs page (or by the console) shows here too and
  // the panel stops or carries on sending. A card that was on its way before a
  // click in this panel is not taken for a change made elsewhere.
  Item.prototype.follow = function (card) {
    if (!card || !this.info || Date.now() - (this.changedHere || 0) < FOLLOW_GRACE_MS) return;
    var state = card.getAttribute("data-state");
    var pausing = state === "paused" || card.getAttribute("data-control") === "pause";
    var reason = card.querySelector(".error");
    if (state === "canceled" && this.state !== "canceled" && this.state !== "sent") {
      this.stop("canceled", gettext("The upload was canceled on the jobs page."));
    } else if (state === "failed" && ["sending", "paused", "waiting"].indexOf(this.state) >= 0) {
      this.fail(reason ? reason.textContent : gettext("The upload job failed."), true);
    } else if (pausing && this.state === "sending") {
      this.stopSending();
    } else if (["queued", "running", "waiting"].indexOf(state) >= 0 && !pausing && this.state === "paused") {
      this.state = "sending";
      this.update();
      this.panel.pump();
      if (this.outstanding() === 0) this.finish();
    }
  };

  window.consoleUpload = {
    Item: Item,
    Meter: Meter,
    formatBytes: formatBytes,
    formatSeconds: formatSeconds,
    left: left,
    perSecond: perSecond,
  };
})();
