// A link to the same page in the book's other editions, in the menu bar.
// The English book is the site's top; each translation is a folder inside it.
(function () {
    const editions = [
        { lang: "en", name: "English", folder: "" },
        { lang: "zh-CN", name: "简体中文", folder: "zh-CN/" },
    ];
    const here = editions.find((e) => e.lang === document.documentElement.lang) || editions[0];
    const top = path_to_root + here.folder.replace(/[^/]+\//g, "../");
    const page = window.location.pathname.split("/").pop() || "index.html";
    const buttons = document.querySelector(".menu-bar .right-buttons");
    if (!buttons) {
        return;
    }
    for (const edition of editions.filter((e) => e !== here)) {
        const link = document.createElement("a");
        link.className = "language-switch";
        link.href = top + edition.folder + page;
        link.hreflang = edition.lang;
        link.lang = edition.lang;
        link.textContent = edition.name;
        buttons.prepend(link);
    }
})();
