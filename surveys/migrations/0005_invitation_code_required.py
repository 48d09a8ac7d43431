from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("surveys", "0004_fill_invitation_codes")]

    operations = [
        migrations.AlterField(
            model_name='invitation',
            name='code_hash',
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AddIndex(
            model_name='invitation',
            index=models.Index(condition=models.Q(('counted', False), ('used', True)), fields=['campaign'], name='invitation_uncounted'),
        ),
        migrations.AddConstraint(
            model_name='invitation',
            constraint=models.CheckConstraint(condition=models.Q(('counted', False), ('used', True), _connector='OR'), name='invitation_counted_used'),
        ),
    ]
