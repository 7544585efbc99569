// The upload module. No framework, no inline script: it finds
// elements marked data-upload-target and reads its settings from data- attributes.
//
// Part two, the panel: the chooser, drop zones, the queue and the overall
// progress. static/js/upload-item.js (loaded first) holds one file's upload.
(function () {
  "use strict";

  var IN_FLIGHT = 4; // chunk requests at once, across all files of a panel
  var Item = window.consoleUpload.Item;
  var Meter = window.consoleUpload.Meter;
  var formatBytes = window.consoleUpload.formatBytes;
  var formatSeconds = window.consoleUpload.formatSeconds;
  var left = window.consoleUpload.left;
  var perSecond = window.consoleUpload.perSecond;

  // A panel: the chooser, the options, the queue and the overall progress.
  function Panel(root) {
    this.root = root;
    this.url = root.getAttribute("data-upload-url");
    this.prefix = root.getAttribute("data-prefix") || "";
    this.options = root.querySelector("[data-upload-options]") || document.createElement("form");
    this.queue = root.querySelector("[data-upload-queue]");
    this.template = root.querySelector("template[data-upload-item]");
    this.overall = root.querySelector("[data-upload-overall]");
    this.overallBar = root.querySelector("[data-upload-overall-bar]");
    this.overallText = root.querySelector("[data-upload-overall-text]");
    this.items = [];
    this.meter = new Meter();
    this.starting = 0;
    this.bind();
  }

  Panel.prototype.bind = function () {
    var self = this;
    this.root.querySelectorAll("input[type=file]").forEach(function (input) {
      input.addEventListener("change", function () {
        Array.prototype.forEach.call(input.files, function (file) {
          self.add(file, file.webkitRelativePath || file.name);
        });
        input.value = "";
      });
    });
    this.root.addEventListener("dragover", function (event) {
      event.preventDefault();
      self.root.classList.add("dragover");
    });
    this.root.addEventListener("dragleave", function () {
      self.root.classList.remove("dragover");
    });
    this.root.addEventListener("drop", function (event) {
      event.preventDefault();
      self.root.classList.remove("dragover");
      self.drop(event);
    });
  };

  // Files and folders dropped on the panel or on a drop zone (the object listing).
  Panel.prototype.drop = function (event) {
    var self = this;
    // Entries tell folders from files; a drop that has none (some browsers, and
    // files handed over by a script) still carries its files.
    var entries = Array.prototype.map.call(event.dataTransfer.items || [], function (item) {
      return item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    }).filter(Boolean);
    if (entries.length) {
      entries.forEach(function (entry) {
        self.walk(entry);
      });
    } else {
      Array.prototype.forEach.call(event.dataTransfer.files, function (file) {
        self.add(file, file.name);
      });
    }
  };

  // A dropped folder: every file inside, with its path relative to the drop.
  Panel.prototype.walk = function (entry) {
    var self = this;
    if (entry.isFile) {
      entry.file(function (file) {
        self.add(file, entry.fullPath.replace(/^\/+/, ""));
      });
    } else if (entry.isDirectory) {
      var reader = entry.createReader();
      var read = function () {
        reader.readEntries(function (entries) {
          if (!entries.length) return;
          entries.forEach(function (child) {
            self.walk(child);
          });
          read();
        });
      };
      read();
    }
  };

  Panel.prototype.add = function (file, path) {
    var folded = this.root.closest("details");
    if (folded) folded.open = true;
    this.items.push(new Item(this, file, path));
    this.overall.hidden = false;
    this.pump();
  };

  // Start waiting files and keep IN_FLIGHT chunk requests going.
  Panel.prototype.pump = function () {
    var self = this;
    var flying = 0;
    this.items.forEach(function (item) {
      flying += item.inFlight();
    });
    this.items.forEach(function (item) {
      if (item.state === "waiting" && self.starting < 2) {
        self.starting += 1;
        item.create().then(function () {
          self.starting -= 1;
          self.pump();
        });
      }
    });
    for (var i = 0; i < this.items.length && flying < IN_FLIGHT; i += 1) {
      var item = this.items[i];
      while (item.canSend() && flying < IN_FLIGHT) {
        item.sendNext();
        flying += 1;
      }
    }
  };

  Panel.prototype.updateOverall = function () {
    var total = 0;
    var sent = 0;
    this.items.forEach(function (item) {
      if (item.state === "canceled" || item.state === "failed") return;
      total += item.file.size;
      sent += item.state === "sent" ? item.file.size : item.sent();
    });
    this.meter.add(sent);
    var percent = total ? Math.floor((sent * 100) / total) : 100;
    var speed = this.meter.speed();
    this.overallBar.value = percent;
    var words = formatBytes(sent) + " / " + formatBytes(total) + " · " + percent + " %";
    if (speed > 0 && sent < total) {
      words += " · " + perSecond(speed) + " · " + left(formatSeconds((total - sent) / speed));
    }
    this.overallText.textContent = words;
    this.overallBar.setAttribute("aria-valuetext", words);
  };

  function start() {
    document.querySelectorAll("[data-upload-target]").forEach(function (root) {
      if (!root.uploadPanel) root.uploadPanel = new Panel(root);
    });
  }

  // Elements marked data-upload-drop-zone (the object listing, which htmx replaces
  // when it refreshes) hand dropped files to the page's upload panel. Listening on
  // the document keeps this working across those swaps.
  function dropZone(event) {
    var zone = event.target.closest && event.target.closest("[data-upload-drop-zone]");
    var root = document.querySelector("[data-upload-target]");
    if (!zone || !root || !root.uploadPanel || zone.closest("[data-upload-target]")) return null;
    return { zone: zone, panel: root.uploadPanel };
  }
  document.addEventListener("dragover", function (event) {
    var found = dropZone(event);
    if (!found) return;
    event.preventDefault();
    found.zone.classList.add("dragover");
  });
  document.addEventListener("dragleave", function (event) {
    var found = dropZone(event);
    if (found) found.zone.classList.remove("dragover");
  });
  document.addEventListener("drop", function (event) {
    var found = dropZone(event);
    if (!found) return;
    event.preventDefault();
    found.zone.classList.remove("dragover");
    found.panel.drop(event);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
