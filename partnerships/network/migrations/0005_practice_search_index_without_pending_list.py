# The practice search's GIN index without a pending list ("fastupdate"): rebuilt, so that entries loaded in bulk
# (seed_scale's COPY) are in the index proper rather than in a pending list that searches must scan.

from django.db import migrations

import partnerships.network.models


class Migration(migrations.Migration):
    dependencies = [
        ("network", "0004_question_answer_edited"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="practiceentry",
            name="network_practice_search",
        ),
        migrations.AddIndex(
            model_name="practiceentry",
            index=partnerships.network.models.SearchGinIndex(
                fastupdate=False, fields=["search_vector"], name="network_practice_search"
            ),
        ),
    ]
