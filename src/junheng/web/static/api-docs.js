// The API documentation page (/api/v1/docs): Swagger UI from /static/vendor/swagger-ui, started
// here rather than by an inline script (the Content-Security-Policy allows scripts from files only).
window.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: box.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,  // no call to an outside validator
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
});
