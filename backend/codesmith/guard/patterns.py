"""What the local check (guard/local.py) looks for: injection attempts, code signals, non-code intents.

Strong injection signals are refused whatever else a prompt says; weak ones (role-play, mode switches)
only when nothing in it is about code; non-code intents only when no code signal is present.
Vocabularies are lower-case words and phrases; rules are regular expressions with trigger words.
"""

# ruff: noqa: RUF001
# The vocabularies are multilingual: the Cyrillic, Turkish and other letters are intended.

from __future__ import annotations

import re

from codesmith.guard.lexicon import ALWAYS, NON_ASCII, Lexicon, Rule, Signal


def _lexicon(text: str) -> Lexicon:
    """A vocabulary written as comma-separated entries, over as many lines as it takes."""
    return Lexicon(_entries(text))


def _entries(text: str) -> list[str]:
    return [entry.strip() for entry in text.replace("\n", ",").split(",") if entry.strip()]


def _alternation(entries: list[str]) -> str:
    return "|".join(re.escape(entry).replace(r"\ ", r"\s+") for entry in sorted(entries, key=len, reverse=True))


# ------------------------------------------------------------------------------------------ injection

# Words that point at the assistant's own instructions; "my previous instructions" is a user changing
# their mind, so "my" is not one of them.
_POINTER = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|initial|original|system|existing|current|former|old"
    r"|given|hidden|default|safety|developer|your|all|any)"
)
_FILLER = r"(?:of|the|these|those|this|its)"
_SECRET = r"(?:instructions?|prompts?|directives?|directions|guidelines?|guardrails?|restrictions?|programming)"
_IGNORE = "ignore disregard forget overlook bypass override discard break"

# Attempts to make the model drop its instructions.
OVERRIDE = Signal(
    _lexicon("snoitcurtsni\ntpmorp metsys"),  # reversed text, a known trick
    (
        Rule(
            rf"\b(?:ignore|disregard|forget|overlook|bypass|override|discard)\s+(?:{_FILLER}\s+)*{_POINTER}\s+"
            rf"(?:(?:{_FILLER}|{_POINTER})\s+)*{_SECRET}\b",
            _IGNORE,
        ),
        # Without a pointer, not "ignore the instructions in the README".
        Rule(
            rf"\b(?:ignore|disregard|forget|overlook|bypass|override|discard)\s+(?:{_FILLER}\s+)?{_SECRET}\b"
            r"(?!\s+(?:in|from|on|of|inside|within|for|at|about|that|which)\b)",
            _IGNORE,
        ),
        # "rules" is common in code requests (lint rules, firewall rules): only the assistant's own rules,
        # and not "ignore all rules in this file".
        Rule(
            r"\b(?:ignore|disregard|forget|bypass|override|break)\s+(?:all\s+(?:of\s+)?|any\s+)?(?:your|the\s+above"
            r"|(?:all\s+)?(?:the\s+)?(?:previous|prior|earlier|preceding))\s+rules\b",
            _IGNORE,
        ),
        Rule(
            r"\b(?:ignore|disregard|forget|break)\s+all\s+(?:the\s+)?rules\b"
            r"(?!\s+(?:in|for|of|from|when|that|which|except))",
            _IGNORE,
        ),
        Rule(
            r"\b(?:ignore|disregard|forget)\s+(?:(?:all\s+(?:of\s+)?)?(?:the\s+|everything\s+)?(?:above|preceding)"
            r"|all\s+(?:the\s+)?(?:previous|prior))(?:\s+(?:text|content|conversation))?"
            r"(?=\s*(?:$|[.,;:!\-]|and\b|then\b|instead\b))",
            _IGNORE,
        ),
        Rule(
            r"\bforget\s+(?:everything|all)\s+(?:(?:you\s+(?:were|have\s+been|was)\s+(?:told|given|taught))|above"
            r"|before|so\s+far|(?:i|we)\s+(?:said|told\s+you))",
            "forget",
        ),
        Rule(
            r"\b(?:ignore|disregard|bypass|override|break|drop|turn\s+off|disable|remove|lift|deactivate)\s+"
            r"(?:the\s+|your\s+|this\s+)?(?:code|coding)[-\s]?only\b|\bcode[_\s-]?only\s*[=:]\s*(?:false|0|off|no)\b",
            "only code_only",
        ),
        Rule(r"\bnew\s+system\s+(?:prompt|message|instructions?)\b", "system"),
        Rule(r"\b(?:you\s+are|you're)\s+no\s+longer\s+(?:a|an|just\s+a)?\s*(?:code|coding|programming)", "longer"),
        Rule(r"\bstop\s+being\s+(?:a|an)\s+(?:code|coding|programming)", "being"),
        Rule(
            r"\b(?:leave|drop|exit|abandon|forget|break\s+out\s+of)\s+your\s+(?:role|character|persona)\b",
            "role character persona",
        ),
        # French, Spanish, Portuguese, Italian, German, Dutch, Polish.
        Rule(
            r"\b(?:ignore[rz]?|oublie[rz]?)\s+(?:toutes\s+|tous\s+)?(?:les|tes|vos|ces)\s+(?:\w+\s+)?"
            r"(?:instructions|consignes|règles|directives)",
            "ignore ignorer ignorez oublie oublier oubliez",
        ),
        Rule(
            r"\b(?:ignora|ignorar|ignore|olvida|olvide|olvidar|omite|descarta)\s+(?:todas\s+|todos\s+)?"
            r"(?:las|tus|sus|los)\s+(?:\w+\s+)?(?:instrucciones|reglas|indicaciones|directrices|órdenes)",
            "ignora ignorar ignore olvida olvide olvidar omite descarta",
        ),
        Rule(
            r"\b(?:ignore|ignora|ignorar|esqueça|esqueca|esquece|desconsidere)\s+(?:todas\s+)?(?:as|suas|tuas)\s+"
            r"(?:\w+\s+)?(?:instruções|instrucoes|regras|diretrizes)",
            "ignore ignora ignorar esqueça esqueca esquece desconsidere",
        ),
        Rule(
            r"\b(?:ignora|ignorate|dimentica|dimenticate)\s+(?:tutte\s+)?(?:le|tue)\s+(?:\w+\s+)?"
            r"(?:istruzioni|regole|direttive)",
            "ignora ignorate dimentica dimenticate",
        ),
        Rule(
            r"\b(?:ignorier\w*|vergiss|vergessen\s+sie|missachte\w*)\s+(?:\w+\s+){0,3}?"
            r"(?:anweisungen|instruktionen|regeln|vorgaben|richtlinien|systemprompt)",
            "ignoriere ignorieren ignorier ignoriert vergiss vergessen missachte missachten",
        ),
        Rule(r"\b(?:negeer|vergeet)\s+(?:\w+\s+){0,3}?(?:instructies|regels)", "negeer vergeet"),
        Rule(
            r"\b(?:zignoruj|ignoruj|zapomnij)\s+(?:\w+\s+){0,3}?(?:instrukcj\w*|polece\w*|zasad\w*)",
            "zignoruj ignoruj zapomnij",
        ),
        # Turkish, Russian, Chinese, Japanese, Korean.
        Rule(
            r"\b(?:talimatları|kuralları)\s+(?:yok\s+say|unut|görmezden\s+gel)"
            r"|(?:игнорируй|игнорировать|проигнорируй|забудь|не\s+обращай\s+внимания\s+на)\s+(?:\w+\s+){0,3}?"
            r"(?:инструкци|правил|указани|промпт)|(?:оставь|забудь|выйди\s+из)\s+(?:свою\s+)?роль"
            r"|(?:忽略|无视|忽视|忘记|忘掉|不要理会|無視).{0,8}(?:指令|指示|规则|規則|提示|设定|要求)"
            r"|(?:指示|命令|ルール|プロンプト|設定).{0,8}(?:無視|忘れ)|(?:지시|명령|규칙|지침).{0,8}(?:무시|잊어)",
            NON_ASCII,
        ),
    ),
)

_REVEAL_VERB = (
    r"(?:reveal|show|print|output|display|repeat|recite|tell|give|share|leak|dump|echo|spell\s+out|write\s+(?:out"
    r"|down)|copy|paste|type\s+out|summari[sz]e|paraphrase|translate|expose|send|return)(?:s|es|ed|ing)?"
)
# Attempts to read the instructions themselves.
REVEAL = Signal(
    _lexicon(""),
    (
        Rule(
            rf"\b{_REVEAL_VERB}\b[^\n]{{0,40}}?\b(?:your|its|the\s+(?:ai|assistant|model)'s)\s+(?:(?:own|full|exact"
            r"|entire|whole|complete)\s+)?(?:system\s+(?:prompt|message|instructions?)|(?:initial|original|hidden"
            r"|secret|internal|developer|first|pre-?)\s*(?:prompt|instructions?|message|rules|configuration))",
            "your its ai's assistant's model's",
        ),
        Rule(
            rf"\b{_REVEAL_VERB}\b[^\n]{{0,40}}?\bthe\s+system\s+(?:prompt|message)\b"
            r"(?=[^\n]{0,20}(?:$|verbatim|word\s+for\s+word|exactly|in\s+full|you\s+(?:got|were|have)))",
            "system",
        ),
        # "What are your rules?" asks for the instructions; "what are your rules for naming variables?" not.
        Rule(
            r"\bwhat(?:'s|\s+is|\s+are|\s+were|\s+was)\s+(?:in\s+)?your\s+(?:system|initial|original|hidden|secret"
            r"|(?:instructions|rules|guidelines|prompt|directives)(?=\s*(?:$|[?.!,;]|exactly|verbatim|again)))",
            "your",
        ),
        Rule(
            r"\bwhat\s+(?:were|have)\s+you\s+(?:been\s+)?(?:told|instructed|programmed)\b",
            "told instructed programmed",
        ),
        Rule(
            r"\b(?:instructions|rules|prompt|guidelines)\s+(?:that\s+)?you\s+(?:were|have\s+been|got)\s+"
            r"(?:given|told|provided)",
            "given told provided",
        ),
        Rule(
            r"\b(?:first|last|opening)\s+(?:sentence|line|word|words|paragraph)s?\s+of\s+(?:your|the)\s+"
            r"(?:instructions|prompt|system|rules|message)",
            "first last opening",
        ),
        Rule(
            r"\b(?:repeat|recite|reproduce|echo|output|print|show|display|copy|return|write\s+out)\s+(?:back\s+)?"
            r"(?:all\s+(?:of\s+)?)?(?:the\s+|everything\s+|your\s+)?(?:(?:text|words|content|everything|instructions"
            r"|messages?|prompt|conversation)\s+)?(?:above|before\s+this|so\s+far|preceding|from\s+the\s+(?:start"
            r"|beginning))(?=\s*(?:$|[.,;:!?\"'(]|this\b|verbatim|word\s+for\s+word|exactly|in\s+full|starting"
            r"|beginning|including))",
            "above before far preceding start beginning",
        ),
        Rule(
            r"\b(?:start|starting|begin|beginning)\s+(?:your\s+(?:answer|response|reply)\s+)?with\s+[\"'“]?you\s+are\b",
            "start starting begin beginning",
        ),
    ),
)

# Spoofed conversation structure and named jailbreaks.
SPOOF = Signal(
    _lexicon("do anything now\nsystem override"),
    (
        Rule(
            r"<\|im_(?:start|end)\|>|<\|(?:system|assistant|user|endoftext)\|>|\[/?inst\]|<</?sys>>|</?system>",
            "im_start im_end inst sys system assistant user endoftext",
        ),
        # A conversation written into the prompt: "SYSTEM: ... USER: ...".
        Rule(
            r"(?:^|[\n.!]\s*)(?:#+\s*)?(?:system|assistant)\s*:[^\n]{0,300}?(?:^|[\n.!?]\s*)(?:#+\s*)?"
            r"(?:user|human)\s*:",
            "system assistant",
        ),
    ),
)

# Mode switches that are a jailbreak wherever they appear.
FORCED_MODE = Signal(
    _lexicon(""),
    (
        Rule(
            r"\b(?:unrestricted|unfiltered|uncensored|jailbroken)\s+(?:ai|mode|assistant|chatbot|bot|version|model"
            r"|gpt|llm)\b",
            "unrestricted unfiltered uncensored jailbroken",
        ),
        Rule(r"(?:^|[.!:]\s*)developer\s+mode\s+(?:enabled|activated|on)\b", "developer"),
        Rule(
            r"\bact\s+as\b[^\n]{0,40}\b(?:no|without)\s+(?:any\s+)?(?:restrictions|filters|censorship|guidelines"
            r"|rules|limits)\b",
            "act",
        ),
        Rule(
            r"\b(?:you\s+(?:have|has|are\s+under)|answer|respond|reply|talk|speak)\s+(?:\w+\s+){0,2}?"
            r"(?:no|without(?:\s+any)?)\s+(?:restrictions|filters|censorship|guidelines)\b",
            "restrictions filters censorship guidelines",
        ),
    ),
)

# Role-play, mode switches, claimed authority, the refusal marker: refused only when nothing in the
# prompt is about code, because "you are an expert Go developer, write..." or "act as a reviewer of this
# function" or "a DAN-style injection test suite" are fine.
WEAK_INJECTION = Signal(
    _lexicon(
        """
            act as, not_code, you are now, you're now, roleplay, role-play, role play, play the role,
            let's play a game, lets play a game, stay in character, developer mode, jailbreak, jailbroken,
            jailbreaking, unrestricted, unfiltered, uncensored, hypothetically, obey me, you must obey,
            pwned, system prompt, system message, god mode, admin mode, sudo mode, admin session,
            admin access, admin override, new persona, answer any question, you may now, your instructions,
            your rules, your guidelines, your prompt, systemprompt, system-prompt, fais comme si tu,
            imagine que tu, tu es maintenant, haz de cuenta, finge que eres, finge ser, actúa como,
            actua como, ahora eres, tu sei ora, fingi di essere, stell dir vor, du bist jetzt, finja que,
            agora você é, prompt système, prompt du système, prompt del sistema, instrucciones del sistema,
            prompt do sistema, prompt di sistema
        """
    ),
    (
        Rule(r"\bpretend\s+(?:that\s+)?(?:you\s+are|you're|to\s+be|you\s+have)\b", "pretend"),
        Rule(r"\bDAN(?:\s*\d+(?:\.\d+)?)?\b", "dan", on_original=True),
        Rule(
            r"\bfrom\s+now\s+on,?\s+(?:you\s+(?:are|will|must|shall|should)|act|respond|answer|reply|pretend|behave"
            r"|speak|talk)\b",
            "now",
        ),
        Rule(r"\bimagine\s+(?:that\s+)?you\s+(?:are|were)\b", "imagine"),
        Rule(
            r"\byour\s+new\s+(?:role|name|identity|persona|job|task|purpose)\b|\bnew\s+(?:rules?|instructions?)\s*:",
            "new",
        ),
        Rule(r"\bsimulate\s+(?:being|a\s+(?:human|person))", "simulate"),
        Rule(r"\byou\s+will\s+(?:now\s+)?(?:be|act|become)\b", "will"),
        Rule(
            r"\b(?:no|without(?:\s+any)?)\s+(?:restrictions|rules|filters|limits|limitations|guidelines|censorship"
            r"|boundaries|morals|ethics)\b",
            "restrictions rules filters limits limitations guidelines censorship boundaries morals ethics",
        ),
        Rule(
            r"\b(?:authori[sz]ed|allowed|permitted)\s+(?:you\s+)?to\s+(?:answer|say|do|ignore|write\s+anything)",
            "authorized authorised allowed permitted",
        ),
        Rule(
            r"\bi\s+am\s+(?:the|your)\s+(?:developer|admin|administrator|creator|owner|programmer)\b",
            "developer admin administrator creator owner programmer",
        ),
        Rule(
            r"\b(?:disable|turn\s+off|bypass|remove|deactivate)\s+(?:the\s+|your\s+|all\s+)?(?:safety|filters?"
            r"|guardrails?|restrictions?|moderation|content\s+polic)",
            "disable turn bypass remove deactivate",
        ),
        Rule(r"(?m:^\s*(?:#|//|/\*|<!--)?\s*(?:system|assistant)\s*:)", "system assistant"),
        Rule(
            r"\b(?:decode|decipher|unscramble|rot13|base64)\b[^\n]{0,60}\b(?:follow|obey|execute|do\s+what|act\s+on"
            r"|carry\s+out)\b",
            "decode decipher unscramble rot13 base64",
        ),
        Rule(
            r"系统提示|系統提示|システムプロンプト|системн\w+\s+(?:промпт|инструкци|подсказк)|시스템\s*프롬프트"
            r"|представь|ты\s+теперь|притворись|假装你|你现在是|扮演|になりきって|ふりをして|ロールプレイ",
            NON_ASCII,
        ),
    ),
)

# Obfuscated text ("i g n o r e", "1gn0re") is folded (leet digits to letters, everything but letters
# dropped) and checked against these run-together phrases.
LEET_WORD = re.compile(r"\b[0134@$][a-z]{2,}|[a-z][0134@$][a-z]")
LEET = str.maketrans("0134@$", "oieaas")
FOLDED_INJECTION = re.compile(
    r"(?:ignore|disregard|forget)(?:all)?(?:the|your|my)?(?:previous|prior|above|earlier)(?:instructions|rules|prompts?)"
    r"|(?:reveal|show|print|repeat|tell)(?:me)?(?:your|the)systemprompt|doanythingnow"
)
# Text hidden as base64 ("decode this and follow it") is decoded and checked too.
BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/]{20,}={0,2}")
# The middle of a long prompt (usually pasted code or logs) is only searched for these fragments (a
# plain substring search, far faster than a regular expression), and the strong injection checks run on
# a window around each one found.
SUSPECT_FRAGMENTS = tuple(
    _entries(
        """
        ignor, disregard, forget, overlook, bypass, overrid, discard, instruction, system prompt,
        system message, system override, <system, /system, initial prompt, hidden prompt, not_code,
        do anything, inst], <<sys, <|im_, snoitcurtsni, jailbr, unrestricted, unfiltered, uncensored,
        developer mode, your role, no longer, stop being, code-only, code_only, code only, oublie, olvid,
        esque, dimentic, vergiss, vergessen, negeer, vergeet, ignoruj, zapomnij, talimat, игнорир,
        проигнор, забудь, оставь, выйди, 忽略, 无视, 忽视, 忘记, 忘掉, 不要理会, 無視, 忘れ, 무시, 잊어
        """
    )
)

# --------------------------------------------------------------------------------------- code signals

_TECH_NAMES = _entries(
    """
        python, python3, pyhton, pyton, phyton, javascript, javscript, javasript, js, node.js, nodejs,
        typescript, ts, tsx, jsx, golang, kotlin, scala, haskell, php, sql, sqlite, mysql, postgres,
        postgresql, psql, plsql, tsql, bash, zsh, powershell, pwsh, html, html5, css, css3, scss, sass, yaml,
        yml, json, xml, toml, terraform, hcl, dockerfile, docker, docker-compose, kubernetes, k8s, kubectl,
        helm, ansible, regex, regexp, regexes, matlab, fortran, cobol, verilog, vhdl, solidity, graphql,
        latex, vba, groovy, ocaml, elixir, erlang, clojure, lua, perl, objective-c, assembly language, x86,
        arm64, wasm, webassembly, cuda, java, jva, zig, csharp, cpp, c++, c#, f#, dotnet, jquery, awk, sed,
        jq, grep, makefile, cmake, gradle, maven, npm, yarn, pnpm, pip, cargo, conda, nginx, apache, systemd,
        crontab, cron, ssh, git, github, gitlab, bitbucket, jenkins, circleci, vscode, vs code, vim, neovim,
        emacs, linux, unix, software, vue, vuejs, angular, svelte, next.js, nextjs, nuxt, django, flask,
        fastapi, rails, laravel, symfony, spring boot, nestjs, deno, numpy, scipy, pytorch, tensorflow,
        keras, sklearn, scikit-learn, matplotlib, seaborn, plotly, pygame, tkinter, pyqt, gtk, godot,
        unreal engine, bootstrap, tailwind, redux, prisma, sequelize, sqlalchemy, mongoose, linq,
        entity framework, boto3, selenium, playwright, puppeteer, cypress, beautifulsoup, bs4, aiohttp,
        httpx, axios, curl, wget, webpack, vite, pytest, junit, rspec, opencv, openpyxl, arduino,
        raspberry pi, esp32, twilio, langchain, huggingface, asp.net, blazor, xamarin, swiftui, uikit,
        jetpack compose, android, flutter, react native, apps script, jinja, jinja2, markdown, localstorage,
        sessionstorage, useeffect, usestate, alembic, genserver, kafka, rabbitmq, redis, mongodb,
        elasticsearch, aws, gcp, azure, s3, ec2, serverless, firebase, supabase, vercel, netlify, heroku,
        grpc, protobuf, tcp, udp, dns, localhost, excel, google sheets, openai api
    """
)
# Languages whose names are also ordinary words ("go", "rust", "swift") count only in context.
_AMBIGUOUS = (
    "go rust c r swift ruby java julia dart elm crystal shell "
    "scheme lisp prolog pascal delphi ada racket assembly assembler apex vb visual"
)
_AMBIGUOUS_NAME = (
    r"(?:go|rust|c|r|swift|ruby|java|julia|dart|elm|crystal|shell|scheme|lisp|prolog|pascal|delphi|ada|racket"
    r"|assembly|assembler|apex|vb|visual\s+basic)\b(?!\s+(?:major|minor|sharp|flat)\b)"
)
_TERSE = "rust swift ruby java c go"

# Names of languages, frameworks, libraries and tools. On their own they mark a code request, except
# in creative writing about them ("a poem about python").
TECH = Signal(
    Lexicon(_TECH_NAMES),
    (
        Rule(r"(?<![\w.])\.net\b", "net"),
        Rule(r"(?<!\bto )\breact\b(?!\s+(?:to|when|with|badly|angrily|if|after)\b)", "react"),
        Rule(
            r"\bexpress(?:\.?js|\s+(?:app|server|middleware|route|router|api))\b|\b(?:with|in|using)\s+express\b",
            "express expressjs",
        ),
        Rule(r"\bunity\s+(?:script|game|c#|project|3d|2d|editor)|\bin\s+unity\b", "unity"),
        Rule(
            r"\bdiscord(?:\.py|\.js|\s+(?:bot|server|api|webhook))|\bslack\s+(?:bot|app|api|webhook)"
            r"|\btelegram\s+bot",
            "discord slack telegram",
        ),
        Rule(r"\bstripe\s+(?:api|webhook|checkout|payment|signature)", "stripe"),
        Rule(
            r"\bpandas\b(?:\s*:|\s+(?:dataframe|df|group|groupby|merge|pivot|read|series))"
            r"|\b(?:in|with|using)\s+pandas\b",
            "pandas",
        ),
        Rule(r"\bnode\s+(?:script|app|server|module|package|version|api)\b|\bin\s+node\b", "node"),
        Rule(
            rf"\b(?:in|using|with|into|via)\s+{_AMBIGUOUS_NAME}|\bto\s+(?:go|rust|c|swift|ruby|java|dart)\s*(?:$|[.!?])"
            r"|\b(?:go|rust|c|r|swift|ruby|java|dart|julia|elm|shell)\s+(?:code|program|programs|function|functions"
            r"|script|scripts|struct|structs|class|classes|module|crate|crates|library|lib|app|api|server|cli|macro"
            r"|trait|closure|generics|equivalent|version|implementation|snippet|one-?liner|project|file|files|method"
            r"|methods|type|types|test|tests|routine|channel|channels|interface|binding|bindings|gem|gems|slice|slices"
            r"|pointer|pointers|vector|array|string|compiler|borrow\s+checker|error|errors|developer|developers"
            r"|engineer|programmer)\b|^\W*(?:go|rust|swift|ruby|java|c|r)\s*[:\-]",
            _AMBIGUOUS,
        ),
        # Terse requests end with the language: "fizzbuzz rust", "binary search go".
        Rule(
            r"^\W*(?:\w+\W+){1,6}?(?<=\w\s)(?:rust|swift|ruby|java|(?<!\bvitamin\s)c|(?<!\bi\s)(?<!\bwe\s)"
            r"(?<!\byou\s)(?<!\bto\s)(?<!\blet's\s)(?<!\blets\s)(?<!\bshould\s)(?<!\bcan\s)(?<!\bwill\s)"
            r"(?<!\band\s)(?<!\bmust\s)(?<!\bnot\s)(?<!\bcould\s)(?<!\bwould\s)(?<!\bthey\s)go)\W*$",
            _TERSE,
        ),
    ),
)

# Things one builds or does with code, in English and other languages.
BUILD = Signal(
    _lexicon(
        """
            function, functions, functon, fucntion, funtion, fuction, func, method, methods, class, classes,
            script, scripts, scirpt, program, programs, programme, programming, code, codes, coding,
            codebase, snippet, snippets, algorithm, algorithms, algoritm, api, apis, endpoint, endpoints,
            query, queries, querry, regular expression, module, modules, library, libraries, package,
            packages, struct, structs, enum, enums, interface, interfaces, variable, variables, loop, loops,
            array, arrays, hashmap, hash map, hash table, dict, dicts, linked list, binary tree,
            tree traversal, recursion, recursive, compile, compiles, compiler, compiling, bug, bugs, buggy,
            debug, debugging, exception, exceptions, traceback, stack trace, stack overflow, segfault,
            segfaults, segmentation fault, null pointer, undefined, refactor, refactoring, unit test,
            unit tests, test case, test cases, tests for, write tests, database, databases, db, schema,
            schemas, frontend, front-end, backend, back-end, server, servers, app, apps, application,
            website, websites, web page, webpage, web app, webapp, landing page, component, components,
            widget, widgets, bot, bots, chatbot, scraper, scrape, scraping, crawler, parser, parse, parsing,
            cli, command line, command-line, deploy, deployment, pipeline, pipelines, ci, ci/cd, csv,
            implement, implementation, programmatically, boilerplate, pseudocode, leetcode, big-o, big o,
            time complexity, space complexity, data structure, serialize, deserialize, encrypt, decrypt,
            encode, decode, hashing, checksum, async, asynchronous, await, threading, multithreading,
            thread-safe, thread pool, mutex, coroutine, coroutines, callback, callbacks, lambda, closure,
            closures, generics, type hint, type hints, polymorphism, oop, orm, repo, repository, git commit,
            last commit, commit message, merge conflict, pull request, dependency, dependencies, sdk, gui,
            ui, button, buttons, dropdown, checkbox, navbar, modal, flexbox, div, divs, dom, responsive,
            login, logout, signup, sign up, signs up, user, users, stdin, stdout, integer, integers, int,
            float, floats, boolean, string, strings, strng, substring, bytes, bitwise, files, folder,
            folders, directory, directories, palindrome, anagram, anagrams, factorial, fibonacci, fibonaci,
            fizzbuzz, quicksort, quick sort, mergesort, merge sort, bubble sort, insertion sort, heapsort,
            heap sort, binary search, dijkstra, a-star, bfs, dfs, breadth-first, depth-first, memoization,
            memoisation, memoize, dynamic programming, backtracking, sudoku solver, game of life,
            tic tac toe, tic-tac-toe, snake game, tower of hanoi, n-queens, nqueens, lru, trie, min-heap,
            max-heap, binary heap, priority queue, message queue, job queue, matrix multiplication, matrices,
            fft, traveling salesman, travelling salesman, webhook, webhooks, websocket, websockets, socket,
            sockets, http, https, url, urls, rest api, restful, crud, oauth, oauth2, jwt, middleware, router,
            routing, handler, render, rendering, cache, caching, rate limit, rate limiter, rate limiting,
            token bucket, calculator, calculater, converter, generator, generators, validator, validate,
            validation, checker, solver, simulator, emulator, automate, automation, automatically, dashboard,
            spreadsheet, plugin, plugins, browser extension, chrome extension, firefox extension,
            file extension, framework, syntax, runtime, dedupe, deduplicate, duplicates, remove duplicates,
            uuid, guid, sha256, sha-256, md5, bcrypt, argon2, encryption, timestamp, timestamps, datetime,
            iso 8601, unix time, utf-8, utf8, ascii, unicode, encoding, timeout, retry, retries, backoff,
            logging, logger, error handling, error, errors, exit code, env, environment variable,
            environment variables, config file, docstring, docstrings, code comment, tuple, tuples, hashset,
            iterator, iterate, iteration, list comprehension, dict comprehension, decorator, decorators,
            getter, setter, constructor, immutable, mutable, malloc, memory leak, garbage collector,
            smart pointer, graph traversal, adjacency, edge case, edge cases, test suite, fixture, fixtures,
            assert, benchmark, compile error, runtime error, build fails, build failing, ip address,
            reverse proxy, load balancer, proxy, ingress, replicas, cronjob, worker pool, service worker,
            goroutine, goroutines, concurrency, concurrently, in parallel, race condition, deadlock,
            semaphore, column, columns, progress bar, coordinates, gps, haversine, flatten, nested list,
            nested dict, nested json, primes, prime number, prime numbers, is prime, numbr is prim, todo app,
            to-do app, todo list, class-based, docker image, image registry, hello world, deep clone, mm:ss,
            csv file, python requests, requests.get, requests.post, console.log, fetch api,
            implement a stack, stack class, class inheritance, multiple inheritance, inheritance in,
            inheritance vs, api client, http client, web client, client-side, client side, field, fields,
            sidebar, toolbar, tooltip, textbox, text box, settings page, login page, home page, venv, virtualenv,
            virtual environment, install, installation, setup, configure, config, planner,
            planners, tracker, trackers, tracking, estimator, organizer, organiser, scheduler, randomizer,
            randomiser, picker, finder, viewer, recorder, timer, timers, stopwatch, countdown, reminder,
            reminders, notifier, visualizer, visualiser, analyzer, analyser, summarizer, summariser,
            formatter, linter, minifier, uploader, downloader, importer, exporter, resizer, renamer, sorter,
            aggregator, tokenizer, lexer, transpiler, bundler, loader, wrapper, daemon, microservice,
            fetcher, filler, builder, engine, counter, lookup, clone, quiz, site, sites, homepage, portal,
            admin panel, control panel, random, randomly, randomize, randomise, alert, alerts, notify,
            notification, notifications, monitor, monitoring, convert, converts, conversion, log, logs, pdf,
            pdfs, music player, video player, audio player, media player, of the day, every morning,
            every day, every hour, every minute, every week, each day, each morning, periodically, scheduled,
            fonction, fonctions, classe, requête, requete, algorithme, tri, trie, trier,
            chaîne de caractères, liste chaînée, site web, base de données, expression régulière, código,
            codigo, función, funcion, funciones, programa, clase, algoritmo, cadena de texto, página web,
            base de datos, expresión regular, funktion, funktionen, programm, skript, klasse, abfrage,
            algorithmus, zeichenkette, datenbank, webseite, sortieren, sortiere, sortiert, função, funcao,
            funções, banco de dados, funzione, funzioni, programma, codice, stringa, functie, funkcja,
            funkcję, funkcji, funkcje, skrypt, kod, betik, sınıf, sorgu, fonksiyon, fonksiyonu
        """
    ),
    (
        Rule(r"\bsort(?:ing|ed|s)?\b(?!\s+(?:of|out)\b)", "sort sorts sorting sorted"),
        Rule(r"\bordenar\s+(?:una|la|el|un|los|las)\b", "ordenar"),
        Rule(
            r"\b(?:функци|скрипт|программ|класс|алгоритм|сортировк|массив|запрос|бот|сайт|база\s+данных|бэкап|парсер)"
            r"|函数|代码|程序|脚本|算法|排序|查找|数组|字符串|数据库|正则|接口|爬虫|网页|组件|变量|编程|生成器"
            r"|関数|コード|プログラム|スクリプト|クラス|アルゴリズム|実装|ソート|配列|正規表現|データベース|クエリ"
            r"|コンポーネント|アプリ|ツール|バグ|エラー|変数|함수|코드|프로그램|스크립트|클래스|알고리즘|스크래퍼|크롤러"
            r"|정렬|웹사이트|دالة|كود|برنامج|سكربت|خوارزمية|بايثون",
            NON_ASCII,
        ),
        # Plain-word descriptions of what a program does.
        Rule(
            r"\b(?:something|a\s+thing|a\s+tool|a\s+way|anything)\s+(?:that|which|to)\s+(?:\w+\s+)?(?:reads?|parses?"
            r"|renames?|converts?|sends?|checks?|monitors?|watches|scrapes?|downloads?|uploads?|tells|alerts?"
            r"|notif\w*|generates?|automates?|lists?|counts?|finds?|extracts?|backs?\s+up|syncs?|merges?|splits?"
            r"|resizes?|compress\w*|cleans?|validates?|lea|lee|liest)\b",
            "something thing tool way anything",
        ),
        Rule(r"\bgroup\s+(?:them|\w+)\s+by\b", "group"),
        Rule(r"\bcount\s+(?:how\s+many|the\s+number\s+of|words|lines|characters|vowels|occurrences)\b", "count"),
        Rule(
            r"\b(?:find|extract|collect)\s+all\s+(?:the\s+)?(?:emails?|email\s+addresses|urls?|links|numbers|phone\s+"
            r"numbers|dates|duplicates|words)\b",
            "find extract collect",
        ),
        Rule(
            r"\b(?:rename|resize|convert|compress|move|delete|copy|backup|back\s+up)\s+(?:all\s+)?(?:the\s+|my\s+)?"
            r"(?:\w+\s+)?(?:images|photos|pictures|pdfs|videos)\b",
            "images photos pictures pdfs videos",
        ),
        Rule(
            r"\b(?:make|build|create|write|code|program|develop|design)\s+(?:me\s+)?(?:a|an|the|my)\s+(?:\w+\s+){0,3}?"
            r"(?:game|site|page|tool)\b|\bgame\s+(?:engine|loop|with|in|using|that|where)\b",
            "game site page tool",
        ),
        # "file" as a noun, not as in "file my taxes" or "file for divorce".
        Rule(
            r"\bfile\b(?!\s+(?:a|an|my|the|for|your|his|her|their|our|taxes|tax|complaint|claim|report|lawsuit|suit"
            r"|charges|bankruptcy|divorce|away)\b)",
            "file",
        ),
        # A manager that is software ("password manager"), not a person ("my manager").
        Rule(
            r"\b(?!(?:my|your|our|his|her|their|the|a|an|to|with|and|marketing|product|project|sales|general|office"
            r"|hr|account|store|hiring|program|regional|operations|engineering|team|line|case|branch|property|brand)\b)"
            r"\w+\s+manager\b",
            "manager",
        ),
        Rule(
            r"\b(?:\w+ing|management|inventory|booking|ordering|reservation|recommendation|notification|payment"
            r"|operating|build|type|plugin|grading|voting|queue|caching|messaging)\s+system\b",
            "system",
        ),
        Rule(
            r"\b(?:page|screen|view|window|menu|popup|tab|form|panel|modal|card|table|chart|graph|map|widget)\s+"
            r"(?:that|which|where)\s+(?:shows?|displays?|lists?|lets?|allows?|has|contains?|updates?|renders?)\b",
            "page screen view window menu popup tab form panel modal card table chart graph map widget",
        ),
        Rule(r"\bhash\s+(?:a|the|function|map|table|password|of)\b", "hash"),
        Rule(r"\bblog\b(?!\s+(?:posts?|articles?|entry|entries)\b)", "blog"),
        Rule(r"\bport\s+(?:\d+|this|it|my)\b", "port"),
        Rule(r"\b(?:in\s+(?:the\s+)?|linux\s+|bash\s+)terminal\b", "terminal"),
        Rule(r"\bmigrations?\s+(?:that|to|for|adding|which)\b", "migration migrations"),
    ),
)

_EXTENSIONS = (
    "py|js|mjs|ts|tsx|jsx|go|rs|java|kt|kts|cpp|cc|cxx|hpp|h|c|cs|rb|php|sql|sh|bash|zsh|ps1|yml|yaml|json|toml|ini"
    "|cfg|conf|csv|tsv|xml|html?|css|scss|sass|md|tf|swift|dart|lua|pl|ipynb|env|lock|gradle|vue|svelte|log|txt"
    "|xlsx?|proto|sol|ex|exs|erl|hs|ml|clj|scala|jl|asm|gitignore|bashrc|zshrc|vimrc|jpe?g|png|pdf"
)
# Code itself: fences, calls, operators, tags, paths, identifiers. Matched on the original text.
SYNTAX = Signal(
    _lexicon(""),
    (
        Rule(r"```|~~~|`[^`\n]+`", ALWAYS, needs="`~", on_original=True),
        Rule(r"\b[A-Za-z_]\w*\([^()\n]{0,80}\)", ALWAYS, needs="(", on_original=True),
        Rule(
            r"(?m:[{};]\s*$)|=>|->|::|==|!=|<=|>=|&&|\|\||\+=|-=|\+\+|:=", ALWAYS, needs="{};=>:&|+", on_original=True
        ),
        Rule(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>\n]*)?>", ALWAYS, needs="<", on_original=True),
        Rule(
            r"(?m:^\s*(?:#include|#!|import\s+\w|from\s+\w+(?:\.\w+)*\s+import|def\s+\w+|class\s+\w+|function\s+\w+"
            r"|(?:const|let|var)\s+\w+\s*=|public\s+(?:class|static|void)|package\s+\w|using\s+\w+;|fn\s+\w+"
            r"|func\s+\w+))",
            "include import def class function const let var public package using fn func",
            on_original=True,
        ),
        Rule(r"\bselect\s+(?:\*|distinct\b|count\(|[\w.]+\s*,)", "select"),
        Rule(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b", ALWAYS, needs="_", on_original=True),
        Rule(r"\b[a-z]{2,}[A-Z]\w*", ALWAYS, on_original=True),
        Rule(r"\\[dwsbDWSB]|\[\^?[a-zA-Z0-9]-[a-zA-Z0-9]\]", ALWAYS, needs="\\[", on_original=True),
        Rule(rf"\.(?:(?<=[\w-]\.)|(?<![\w.]\.))(?:{_EXTENSIONS})\b", ALWAYS, needs="."),
        Rule(r"(?:^|\s)(?:~|\.{1,2})?/[\w.-]+/[\w.-]+", ALWAYS, needs="/"),
        Rule(r"\$[a-zA-Z_]\w*|\$\{|\$\(", ALWAYS, needs="$"),
        Rule(r"%[sdf]\b|%\d*\.\d+f", ALWAYS, needs="%"),
        Rule(r"\b0x[0-9a-f]+\b", ALWAYS, needs="0"),
        Rule(r"\b\w+\[\w+\]|\berror\[e\d+\]", ALWAYS, needs="["),
        Rule(r"Error\b(?<=[a-z]Error)|Exception\b(?<=[a-z]Exception)", ALWAYS, needs="E", on_original=True),
        Rule(r"\bline\s+\d+\b", "line"),
    ),
)

# --------------------------------------------------------------------------------- non-code intents

# Creative writing about a technical topic ("a poem about python programming") is not a request for
# code, unless it names something to build or a language to write it in.
CREATIVE_ABOUT = Rule(
    r"\b(?:poem|poems|poetry|haiku|sonnet|song|story|stories|essay|joke|jokes|limerick|rap|lyrics|speech|puns?)"
    r"\s+(?:about|on|abt)\b",
    "poem poems poetry haiku sonnet song story stories essay joke jokes limerick rap lyrics speech pun puns",
)
ARTIFACT = re.compile(
    r"\b(?:function|script|program|app|application|class|method|generator|bot|api|website|web\s+page|page"
    r"|component|query|regex|cli|tool|module|endpoint|snippet|game|quiz|site|json|yaml|csv|html|xml|array|dict"
    r"|dictionary)s?\b|\bcode\s+(?:that|to|which)\b"
)
LANGUAGE_IN = re.compile(rf"\b(?:in|using|with)\s+(?:{_alternation(_TECH_NAMES)}|{_AMBIGUOUS_NAME})(?![\w+#])")


def _intent(vocabulary: str, *rules: Rule) -> Signal:
    return Signal(_lexicon(vocabulary), rules)


CREATIVE = _intent(
    """
        poem, poems, poetry, poet, sonnet, sonnets, haiku, haikus, limerick, limericks, verse, verses,
        lyrics, song, songs, ballad, story, stories, short story, novel, fairy tale, fable, bedtime, essay,
        essays, speech, toast, eulogy, obituary, cover letter, love letter, birthday message, birthday card,
        tweet, blog post, slogan, tagline, product description, motivational, quote, quotes, joke, jokes,
        pun, puns, riddle, riddles, rhyme, rhymes, screenplay, horoscope, greeting card, caption, proofread,
        paraphrase, reword, poème, poésie, poeme, histoire, conte, blague, blagues, dissertation, discours,
        poema, poemas, poesía, poesia, cuento, chiste, chistes, ensayo, discurso, gedicht, gedichte,
        geschichte, märchen, witz, witze, aufsatz, racconto, storia, barzelletta, barzellette, piada, piadas,
        redação, história, şiir, hikaye, fıkra
    """,
    Rule(
        r"\b(?:write|draft|compose)\s+(?:me\s+)?(?:an?\s+)?(?:email|e-mail|letter|message|note|reply)\s+(?:to|for)\b",
        "email mail letter message note reply",
    ),
    Rule(r"\brewrite\s+(?:this|my|the)\s+(?:email|paragraph|text|letter|sentence|essay|message)\b", "rewrite"),
    Rule(
        r"\b(?:стихотворени|стих|сказк|анекдот|сочинени|эссе|рассказ)|诗|故事|笑话|作文|散文|歌词|詩|物語|ジョーク|冗談"
        r"|小説|エッセイ|歌詞|이야기|농담|소설|시를|قصيدة|قصة|نكتة",
        NON_ASCII,
    ),
)

SMALL_TALK = _intent(
    """
        how are you, how's it going, what's up, who are you, what's your name, what is your name,
        tell me about yourself, let's chat, let's talk, what model are you, your favorite, your favourite
    """,
    Rule(
        r"^\W*(?:hi|hello|hey|hiya|yo|sup|howdy|greetings|good\s+(?:morning|afternoon|evening|night)|thanks"
        r"|thank\s+you|thx|ty|ok|okay|cool|nice|great|awesome|perfect|lol|haha|bye|goodbye|bonjour|salut|merci|hola"
        r"|gracias|hallo|danke|ciao|grazie|olá|oi|obrigad[oa]|привет|спасибо|你好|谢谢|こんにちは|ありがとう|안녕하세요"
        r"|감사합니다|مرحبا|شكرا)(?:\s+(?:there|everyone|all|again|so\s+much|a\s+lot|buddy|friend|mate|man))?\W*$",
        ALWAYS,
    ),
    Rule(r"\bare\s+you\s+(?:a|an)?\s*(?:human|robot|ai|real|person|sentient|conscious|alive)\b", "are"),
    Rule(r"\bdo\s+you\s+(?:like|love|have\s+feelings|dream|feel|believe|enjoy)\b", "do"),
    Rule(
        r"\bi\s*(?:'m|\s+am)\s+(?:so\s+|very\s+|really\s+)?(?:bored|sad|lonely|tired|depressed|happy|hungry"
        r"|stressed)\b|\bi\s+feel\s+(?:so\s+|very\s+|really\s+)?(?:sad|lonely|bored|down|anxious|depressed|happy"
        r"|lost)\b",
        "i i'm",
    ),
    Rule(r"\bwho\s+(?:made|created|built|trained|programmed)\s+you\b", "who"),
)

KNOWLEDGE = _intent(
    """
        capital of, capitale du, capitale de, capital de, hauptstadt, president of, prime minister,
        population of, meaning of life, history of, planets, continents, in what year, what year, plot of,
        quantum, photosynthesis, water cycle, world war, napoleon, shakespeare, hamlet, berlin wall,
        speed of light, dinosaur, dinosaurs, relativity, black hole, black holes, why is the sky, causes of,
        animal, animals, crocodile, alligator, dolphin, whale, shark, elephant, lion, tiger, penguin,
        volcano, volcanoes, earthquake, inflation, economy, recession, tell me something, fun fact, weather,
        forecast, météo, wetter, clima
    """,
    Rule(
        r"^\W*who\s+(?:won|wrote|invented|discovered|painted|composed|directed|founded|is|was|were|are|killed"
        r"|built|sang)\b",
        "who",
    ),
    Rule(r"^\W*when\s+(?:did|was|were|is|will)\b", "when"),
    Rule(
        r"\bhow\s+(?:far|tall|old|big|deep|high|heavy|long\s+ago)\b|\bhow\s+many\s+(?:calories|people|countries"
        r"|planets|moons|bones|continents|states|oceans)\b",
        "how",
    ),
    Rule(
        r"\b(?:tallest|largest|biggest|longest|oldest|smallest|deepest)\s+(?:\w+\s+)?(?:mountain|river|country"
        r"|city|ocean|animal|planet|building|lake|desert|man|woman|person)\b",
        "tallest largest biggest longest oldest smallest deepest",
    ),
    Rule(
        r"\bsummar(?:y|i[sz]e)\s+(?:of\s+)?(?:the|this)\s+(?:book|article|plot|chapter|novel|movie|film|story"
        r"|play)\b",
        "summary summarize summarise",
    ),
    Rule(r"\brules\s+of\s+(?:cricket|chess|football|soccer|poker|rugby|baseball|basketball|tennis|golf)\b", "rules"),
    Rule(r"\bстолиц|首都|погод|天気|天气|날씨", NON_ASCII),
)

MATHS = _intent(
    "",
    Rule(
        r"^\W*(?:what\s+is|what's|calculate|compute)?\s*-?\d+(?:\.\d+)?\s*(?:[-+*/x×÷^]|times|plus|minus"
        r"|divided\s+by|to\s+the\s+power\s+of)\s*-?\d+(?:\.\d+)?\W*$",
        ALWAYS,
        needs="0123456789",
    ),
    Rule(r"\bsolve\s+(?:for\s+x|the\s+equation|this\s+equation|[\dx(])", "solve"),
    Rule(r"\b(?:derivative|integral)\s+of\b|\bsquare\s+root\s+of\s+\d", "derivative integral root"),
)

MEDICAL = _intent(
    """
        symptom, symptoms, diagnose, diagnosis, headache, migraine, fever, rash, cough, sore throat, nausea,
        pregnant, pregnancy, disease, cancer, diabetes, blood pressure, cholesterol, medication, medicine,
        dosage, prescription, ibuprofen, paracetamol, acetaminophen, aspirin, antibiotic, antibiotics,
        side effects, doctor, therapist, therapy, mental health, anxiety, depression, insomnia, calories,
        diet, lose weight, weight loss, workout, exercise plan, vitamin, vitamins, allergy, allergic, injury,
        sprained, itchy, covid, flu, infection, surgery
    """,
    Rule(r"\blose\s+\d+\s*(?:kg|lbs?|pounds)\b", "lose"),
    Rule(
        r"\b(?:is\s+it\s+)?safe\s+to\s+(?:take|eat|drink|mix)\b|\bhow\s+much\s+\w+\s+(?:can|should)\s+i\s+"
        r"(?:take|eat|drink)\b",
        "safe much",
    ),
    Rule(
        r"\bis\s+\w+\s+(?:bad|good|healthy|unhealthy)\s+for\s+(?:you|me|health)\b",
        "bad good healthy unhealthy",
    ),
)

LEGAL = _intent(
    """
        lawyer, attorney, sue, suing, lawsuit, legal advice, is it legal, illegal, legally, lease, landlord,
        tenant, evict, eviction, custody, divorce, alimony, testament, court, copyright infringement,
        trademark, immigration, arrested, speeding ticket
    """,
    Rule(r"\b(?:draft|write|make)\s+(?:a|my)\s+will\b", "will"),
)

FINANCE = _intent(
    """
        invest, investing, investment, investments, stock, stocks, bitcoin, crypto, cryptocurrency, ethereum,
        retirement, 401k, pension, mortgage, loan, loans, credit score, debt, taxes, tax return, budget,
        budgeting, savings, save money, financial advice, index fund, index funds, etf, etfs, portfolio,
        dividend, dividends, interest rate, interest rates, insurance, get rich
    """
)

FOOD = _intent(
    """
        recipe, recipes, cook, cooking, bake, baking, ingredients, pancake, pancakes, pizza, pasta, bread,
        cake, cookies, soup, salad, dinner, lunch, breakfast, meal, meals, wine, beer, cocktail, vegan,
        vegetarian, dessert, lasagna, paella, topping, toppings, receta, recette, rezept, ricetta, receita,
        kochen, backen, cocinar, cuisiner, cucinare, cozinhar
    """,
    Rule(r"рецепт|菜谱|食谱|レシピ|레시피", NON_ASCII),
)

TRAVEL = _intent(
    """
        trip, trips, itinerary, vacation, vacations, holiday, holidays, travel, traveling, travelling,
        flight, flights, hotel, hotels, sightseeing, tourist, tourism, honeymoon, backpacking, road trip,
        things to do in, places to visit
    """
)

TRANSLATION = _intent(
    """
        translate, translation, traduce, traduis, traduire, traduzca, übersetze, übersetzen, traduci,
        traduza
    """,
    Rule(r"翻译|翻訳|перевед", NON_ASCII),
)

HOMEWORK = _intent(
    """
        homework, assignment, grammar, spelling, book report, thesis, summarize, summarise
    """
)

RECOMMENDATION = _intent(
    """
        name for my, should i buy, valentine, valentine's, recomienda, empfiehl, conseille
    """,
    Rule(
        r"\b(?:recommend|suggest)\s+(?:me\s+)?(?:[\w-]+\s+){0,3}?(?:movie|film|book|show|series|song|music"
        r"|restaurant|gift|podcast|name|place|wine|novel|album|game)s?\b",
        "recommend suggest",
    ),
    Rule(
        r"\bwhat\s+should\s+i\s+(?:watch|read|buy|get|eat|wear|cook)\b|\b(?:gift|present)\s+for\b",
        "should gift present",
    ),
    Rule(r"おすすめ|推荐", NON_ASCII),
)

PERSONAL = _intent(
    """
        job interview, interview tips, resume, résumé, cv, salary, salaries, earn, girlfriend, boyfriend,
        wife, husband, relationship, dating, marriage, wedding, motivation, meditation, sleep better,
        tips for, my boss, day off, coworker, coworkers, colleague, colleagues, excuse, learn to play,
        guitar, piano, violin, drums, hobby, hobbies, remove rust, bike, garden, laundry, pay raise
    """,
    Rule(r"\bask(?:ing)?\s+for\s+a\s+raise\b", "raise"),
)

# Each intent with the reason a user sees, in the order they are tried.
NON_CODE_INTENTS: tuple[tuple[Signal, str], ...] = (
    (CREATIVE, "it asks for creative writing (a poem, story, essay, joke, letter...)"),
    (SMALL_TALK, "it is small talk"),
    (KNOWLEDGE, "it is a general-knowledge question"),
    (MATHS, "it is a maths question"),
    (MEDICAL, "it asks for medical or health advice"),
    (LEGAL, "it asks for legal advice"),
    (FINANCE, "it asks for financial advice"),
    (FOOD, "it asks for a recipe or food advice"),
    (TRAVEL, "it asks for travel planning"),
    (TRANSLATION, "it asks to translate text, not code"),
    (HOMEWORK, "it asks for help with writing or homework"),
    (RECOMMENDATION, "it asks for a recommendation"),
    (PERSONAL, "it asks for personal advice"),
)
CREATIVE_REASON = NON_CODE_INTENTS[0][1]
