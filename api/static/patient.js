// The patient's page (api/templates/patient/_script.html): focus on the answer to a form, files
// checked before they are sent, and an upload's progress. Without it every form works as it is.
(function () {
  var outcome = document.getElementById("outcome");
  if (outcome) { outcome.focus(); }
  // The answer to a form stands at the page's own address, so reloading it reads the journey
  // again rather than sending the form twice.
  var main = document.getElementById("main");
  if (main && main.dataset.pageUrl && window.history.replaceState) {
    window.history.replaceState(null, "", main.dataset.pageUrl);
  }
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var problem = document.getElementById("upload-problem");
  var allowed = form.dataset.extensions.split(",");
  var limit = Number(form.dataset.maxBytes);
  function refuse(message) {
    problem.textContent = message;
    problem.focus();
  }
  form.addEventListener("submit", function (event) {
    var files = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      for (var i = 0; i < input.files.length; i++) { files.push(input.files[i]); }
    });
    var total = 0;
    var wrong = null;
    files.forEach(function (file) {
      total += file.size;
      var name = file.name.toLowerCase();
      if (!wrong && !allowed.some(function (ext) { return name.endsWith(ext); })) { wrong = file.name; }
    });
    event.preventDefault();
    if (files.length < 1 || files.length > 10) { refuse(form.dataset.none); return; }
    if (wrong) { refuse(form.dataset.wrongType.replace("{file}", wrong)); return; }
    if (total > limit) { refuse(form.dataset.tooLarge); return; }
    problem.textContent = "";
    var progress = document.getElementById("upload-progress");
    var bar = progress.querySelector("progress");
    var said = document.getElementById("upload-percent");
    var told = -1;
    progress.hidden = false;
    form.querySelector("button[type=submit]").disabled = true;
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.floor(e.loaded / e.total * 100);
      bar.value = percent;
      // Said aloud in steps of a quarter, not at every percent.
      if (Math.floor(percent / 25) !== told) {
        told = Math.floor(percent / 25);
        said.textContent = form.dataset.sending.replace("{percent}", percent);
      }
    });
    // The answer is the page again, with the confirmation or the refusal at its top.
    request.addEventListener("load", function () {
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () { form.submit(); });
    request.send(new FormData(form));
  });
})();
