// Starts Swagger UI on the docs page (app/templates/swagger_ui.html), which hands over the spec URL and
// OPENAPI_SWAGGER_UI_CONFIG as data attributes: the page itself carries no script.
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  var config = {
    url: container.dataset.specUrl,
    dom_id: "#swagger-ui-container",
    // The default validator badge is an image from validator.swagger.io: offline it is broken, and the
    // content security policy refuses it.
    validatorUrl: null
  };
  var overrides = JSON.parse(container.dataset.config || "{}");
  for (var name in overrides) {
    config[name] = overrides[name];
  }
  window.ui = SwaggerUIBundle(config);
});
