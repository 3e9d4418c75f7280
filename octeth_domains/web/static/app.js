// The sender-domain pages' only script: copy buttons and the live preview of the hosts a change
// of settings would give. Everything works without it; these are conveniences. Data comes in
// through data- attributes, never through markup built here.
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("copy-status");
    if (region) {
      region.textContent = text;
    }
  }

  // The Clipboard API needs a secure context; on plain HTTP a selected textarea and "copy" work.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var copied = document.execCommand("copy");
      document.body.removeChild(area);
      if (copied) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  function setUpCopy(button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.dataset.copyFrom
        ? document.getElementById(button.dataset.copyFrom).value
        : button.dataset.copy;
      copyText(text).then(function () {
        button.textContent = "Copied";
        announce("Copied to the clipboard.");
      }, function () {
        button.textContent = "Copy failed";
        announce("Could not copy: select the text and copy it yourself.");
      }).then(function () {
        window.setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  }

  // Mirrors the records' host patterns: _Subdomain_._SenderDomain_ and
  // _TrackPrefix__TrackMerge__Subdomain_._SenderDomain_, with the service's defaults for empty fields.
  function setUpPreview(form) {
    var settings = form.dataset;
    var subdomain = form.elements.CustomSubdomain;
    var prefix = form.elements.CustomTrackPrefix;
    var separate = form.elements.UseTrackingSubdomain;
    var mfrom = document.getElementById("preview-mfrom");
    var track = document.getElementById("preview-track");
    var warning = document.getElementById("regenerate-warning");

    var error = document.getElementById("preview-error");

    // What the server takes: empty (the default), or the rule below as sent, spaces included.
    var LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/;
    var RULE = "letters, digits and hyphens only, at most 32, no hyphen first or last";

    // Hosts are stored in lower case, so "EM" and "em" are one layout (no regeneration either).
    function effective(value, fallback) {
      return (value === "" ? fallback : value).toLowerCase();
    }

    function refusal(input, name) {
      return input.value === "" || LABEL.test(input.value) ? "" : name + " is not allowed: " + RULE + ".";
    }

    // DNS holds labels of up to 63 octets and names of up to 253 characters (255 on the wire).
    function tooLong(host) {
      return host.length > 253 || host.split(".").some(function (part) { return part.length > 63; });
    }

    function update() {
      var label = effective(subdomain.value, settings.defaultSubdomain);
      var mfromHost = label + "." + settings.domain;
      var trackHost = effective(prefix.value, settings.defaultPrefix) + settings.merge + label + "." + settings.domain;
      // The form always sends both labels, and the server checks both, tracking or not.
      var labelProblem = refusal(subdomain, "This custom subdomain") || refusal(prefix, "This tracking prefix");
      var lengthProblem = tooLong(mfromHost) || (separate.checked && tooLong(trackHost))
        ? "These labels make host names too long for DNS (63 characters per label, 253 in all)." : "";
      var problem = labelProblem || lengthProblem;
      subdomain.setCustomValidity(refusal(subdomain, "This custom subdomain") || lengthProblem);
      prefix.setCustomValidity(refusal(prefix, "This tracking prefix"));
      error.textContent = problem;
      error.hidden = !problem;
      mfrom.textContent = problem ? "refused" : mfromHost;
      track.textContent = !separate.checked ? "none (no separate tracking subdomain)" : problem ? "refused" : trackHost;
      warning.hidden =
        label === effective(subdomain.defaultValue, settings.defaultSubdomain) &&
        effective(prefix.value, settings.defaultPrefix) === effective(prefix.defaultValue, settings.defaultPrefix) &&
        separate.checked === separate.defaultChecked;
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    document.getElementById("preview").hidden = false;
    update();
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.copy"), setUpCopy);
  var settingsForm = document.getElementById("settings");
  if (settingsForm) {
    setUpPreview(settingsForm);
  }
})();
