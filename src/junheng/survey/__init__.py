"""The social recognition survey (社会认可度, the standard's social recognition area): questionnaires
as data, the sampling plan, collection on the public survey page or import of a survey platform's
export, quality checks, and the rates with their confidence intervals that become the county-year's
figure (docs/methods.md, "社会认可度")."""
