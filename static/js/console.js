// The only hand-written script besides the upload module. htmx cannot check
// page visibility without eval (which our Content Security Policy forbids), so
// polling requests from elements marked data-poll are skipped while the tab is
// hidden; the next tick after the tab is shown again goes through.
document.addEventListener("htmx:confirm", function (event) {
  var el = event.detail.elt;
  if (el && el.hasAttribute("data-poll") && document.visibilityState !== "visible") {
    event.preventDefault();
  }
});
