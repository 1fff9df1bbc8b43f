(function () {
  try {
    var choice = localStorage.getItem("codesmith.theme");
    var dark = choice === "dark" || (choice !== "light" && window.matchMedia("(prefers-color-scheme: dark)").matches);
    document.documentElement.classList.toggle("dark", dark);
  } catch (e) {
    /* storage blocked: the system theme applies via the media query fallback */
  }
})();
