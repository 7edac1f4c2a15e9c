#!/usr/bin/env python3
"""Trains the router's statistical model and writes it to data/router_model.tsv.

    pip install scikit-learn==1.9.1
    python3 scripts/train_router.py

Two multinomial logistic regressions, one for the intent and one for the
language, over the same character n-grams (2 to 5, inside
word boundaries, sublinear tf-idf, l2-normalised) of the folded text, the
way sklearn's TfidfVectorizer(analyzer="char_wb") builds them. It learns
from data/intents.tsv, data/intents_unseen.tsv and data/intents_blind2.tsv;
data/intents_blind3.tsv is never read here: it is the held-out measure.

src/conversation/model.rs computes the same features and the same
probabilities in Rust; data/router_model_check.tsv holds messages with the
probabilities computed here, and a unit test compares the two.
"""
import re
import unicodedata

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

SOURCES = [
    ("data/intents.tsv", 4),
    ("data/intents_unseen.tsv", 3),
    ("data/intents_blind2.tsv", 3),
    ("data/intents_train4.tsv", 3),
]


def fold(text):
    """Lower case, accents stripped (NFKD), anything but a-z and 0-9 a space."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def load():
    texts, labels, languages = [], [], []
    for path, columns in SOURCES:
        with open(path, encoding="utf-8") as f:
            next(f)
            for line in f:
                fields = line.rstrip("\n").split("\t", columns - 1)
                texts.append(fields[-1])
                labels.append(fields[1])
                languages.append(fields[0])
    return texts, labels, languages


def main():
    texts, labels, languages = load()
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, preprocessor=fold, lowercase=False
    )
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=10, max_iter=5000)
    model.fit(features, labels)
    classes = list(model.classes_)
    language_model = LogisticRegression(C=10, max_iter=5000)
    language_model.fit(features, languages)
    with open("data/router_model.tsv", "w", encoding="utf-8") as out:
        out.write("# doorman router model: scripts/train_router.py, %d messages\n" % len(texts))
        out.write("classes\t" + "\t".join(classes) + "\n")
        out.write("intercepts\t" + "\t".join("%.5f" % b for b in model.intercept_) + "\n")
        out.write("languages\t" + "\t".join(language_model.classes_) + "\n")
        out.write("language_intercepts\t" + "\t".join("%.5f" % b for b in language_model.intercept_) + "\n")
        # An n-gram, its idf, its weight for each intent, then for each language.
        for ngram, column in sorted(vectorizer.vocabulary_.items()):
            weights = list(model.coef_[:, column]) + list(language_model.coef_[:, column])
            idf = vectorizer.idf_[column]
            out.write("%s\t%.5f\t%s\n" % (ngram, idf, "\t".join("%.4f" % w for w in weights)))
    samples = [
        "what's the door code?",
        "Der Code funktioniert nicht, die Tür bleibt zu",
        "¿A qué hora es el check-out?",
        "quel est le mot de passe du wifi",
        "dove posso parcheggiare la macchina?",
        "Dobrý deň, chcel by som hovoriť s majiteľom",
        "Jak se dostanu z nádraží k apartmánu?",
        "Dzień dobry! Dziękuję bardzo 😊",
        "A que horas posso fazer o check-in?",
        "Is er een handdoek extra mogelijk?",
        "",
    ]
    probabilities = model.predict_proba(vectorizer.transform(samples))
    language_probabilities = language_model.predict_proba(vectorizer.transform(samples))
    with open("data/router_model_check.tsv", "w", encoding="utf-8") as out:
        for text, row, language_row in zip(samples, probabilities, language_probabilities):
            out.write(text + "\t" + "\t".join("%.6f" % p for p in list(row) + list(language_row)) + "\n")
    print("trained on %d messages: %d n-grams, %d intents" % (len(texts), len(vectorizer.vocabulary_), len(classes)))


if __name__ == "__main__":
    main()
